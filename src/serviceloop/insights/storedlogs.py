"""The coded log of every case stored beside the columnar copy (:mod:`.codedlog`): mapped in as a
kept log where it is of the copy and coded with today's names, and written again when it falls
behind."""

from __future__ import annotations

import logging

from serviceloop.accounts.models import Team
from serviceloop.analytics import EventLog
from serviceloop.analytics._engine import get_engine
from serviceloop.cases.models import Category
from serviceloop.insights import codedlog, lineage, logstore
from serviceloop.insights.copyrows import _every_case, _staff
from serviceloop.insights.logcoding import CASES_MEMO, _cases_of, _give_cases, _Kept
from serviceloop.insights.logfilters import ATTRIBUTES, LogFilters, View
from serviceloop.insights.logstore import Version
from serviceloop.insights.splicing import _name_counts

__all__ = ["REWRITE_AFTER", "REWRITE_AGE", "stored_log_at"]

logger = logging.getLogger(__name__)

#: A stored coded log this many event ids behind the kept one is written again (not at every
#: event: writing the all-events log costs about a second; a fresh process splices the rest).
REWRITE_AFTER = 1_000
#: The worker writes a stored log that is behind again once it is this many seconds old (a fresh
#: process then maps it in one piece instead of splicing the events since).
REWRITE_AGE = 600


def _names() -> dict[str, dict[str, str]]:
    """Each team's and category's name by id: what a stored log's names were joined from."""
    return {
        "team": {str(pk): name for pk, name in Team.objects.values_list("id", "name")},
        "category": {str(pk): name for pk, name in Category.objects.values_list("id", "name")},
    }


def _stored_kept(view: View, state: logstore.StoreState) -> _Kept | None:
    """The coded log of every case stored for ``view`` (:mod:`.codedlog`), mapped, if it is of
    this copy, whole, not ahead of it, and coded with today's staff and team and category
    names; else None, and the stored one is discarded."""
    if codedlog.stored_version(view) is None:
        return None
    stored = codedlog.load(view, state.generation)
    staff = _staff()
    if (
        stored is None
        or stored.version[2] != state.version[2]
        or codedlog.ahead(stored.version, state.version)
        or not staff.sort("actor").equals(stored.staff.sort("actor"))
        or stored.names != _names()
    ):
        codedlog.discard(view)  # the log read instead is written in its place
        return None
    keys = stored.percase["key"].rename("__case")
    log: EventLog | None = None
    if stored.coded.height:
        log = EventLog(
            stored.coded,
            activity_names=stored.activity_names,
            case_names=stored.percase["case_id"],
            resource_names=stored.resource_names,
            attributes=ATTRIBUTES,
            engine=get_engine("polars"),
        )
        for column, used in stored.name_counts.items():
            log.memo(("insights.name_counts", column), used.copy)
        _give_cases(log, stored.percase)
        lineage.stored(log, (view, stored.generation, stored.version))
    return _Kept(stored.version, stored.generation, stored.cases, keys, log, staff, stored.held)


def stored_log_at(log: EventLog) -> tuple[View, str, Version] | None:
    """The view, generation and version of the stored coded log ``log`` is, if it is one (not a
    filtered, spliced, narrowed or copied log): the key of what is stored beside it."""
    return lineage.stored_at(log)


def _keep_on_disk(filters: LogFilters, kept: _Kept, *, worker: bool = False) -> None:
    """Write the coded log of every case when none of this copy is stored, or the stored one is
    :data:`REWRITE_AFTER` event ids behind ``kept`` (the ``worker``: whenever it is behind, the
    worker having chosen when, see ``keptlogs.coded_logs_keep``). A log in pieces (spliced) is
    written again by the worker alone, each column copied into one piece as it is written:
    mapped in pieces, the analyses would copy them beside the mapped file (1.9 GB instead of
    1.4 GB at 32M events). A failed write leaves the pages as they are (the next process reads
    the copy)."""
    if not _every_case(filters) or kept.log is None:
        return
    on_disk = codedlog.stored_version(filters.view)
    current = on_disk is not None and on_disk[0] == kept.generation
    if current:
        assert on_disk is not None
        if not codedlog.ahead(kept.version, on_disk[1]):
            return
        if kept.version[0] - on_disk[1][0] < REWRITE_AFTER and not worker:
            return
    log = kept.log
    coded = log.coded()
    if max(coded.n_chunks("all")) > 1 and not worker and current:
        return
    percase = log.memo(CASES_MEMO, lambda: _cases_of(log))
    stored = codedlog.Stored(
        version=kept.version,
        generation=kept.generation,
        coded=coded,
        activity_names=log.activity_names,
        resource_names=log.resource_names,
        percase=kept.keys.rename("key").to_frame().hstack(percase).rechunk(),
        cases=kept.cases.rechunk(),
        staff=kept.staff,
        held=kept.held,
        names=_names(),
        name_counts=_name_counts(log),
    )
    try:
        if codedlog.write(filters.view, stored):
            lineage.stored(log, (filters.view, kept.generation, kept.version))
    except OSError as exc:
        logger.warning("insights: the coded log of %s was not written: %s", filters.view, exc)
