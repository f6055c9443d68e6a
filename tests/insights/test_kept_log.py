"""The log Insights keeps in memory is brought up to date by event id, and always equals what a
fresh read of the database gives: new events, cases leaving or entering the filters, late
commits and erasures included."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from django.db import connection, models, transaction
from django.test.utils import CaptureQueriesContext

from serviceloop.cases.models import CaseEvent
from serviceloop.cases.services import case_assign, case_reopen
from serviceloop.core import append_only
from serviceloop.insights import copyrows, keptlogs, logcoding, logstore, selectors, splicing
from serviceloop.insights.pages import case_attributes
from serviceloop.insights.selectors import LogFilters, event_log, event_table
from serviceloop.processes.models import ProcessVersion
from tests.factories import AgentFactory, CaseFactory, build_process_version
from tests.insights.conftest import Log, stage_of, walk, whole_reads

pytestmark = pytest.mark.django_db


def _same_as_fresh(filters: LogFilters) -> None:
    kept = keptlogs._kept_log(filters).table
    fresh = event_table(filters)
    assert kept.to_pylist() == fresh.to_pylist()


@pytest.mark.parametrize("view", ["stages", "events"])
def test_new_events_are_read_alone_and_give_the_fresh_answer(live_log: Log, view: str) -> None:
    filters = LogFilters(view=view)  # type: ignore[arg-type]
    assert event_log(filters) is not None
    walk(live_log.fresh, live_log.version, live_log.manager, [("analysis", 1)])
    with CaptureQueriesContext(connection) as queries:
        keptlogs._kept_log(filters)
    event_reads = [
        q["sql"] for q in queries.captured_queries if '"cases_caseevent"."kind"' in q["sql"]
    ]
    # Besides the version probe and single-row probes, only the events after the kept ones are
    # read (into the columnar copy, then from it into the kept log): never the whole history.
    assert len(event_reads) == 1
    assert '"cases_caseevent"."id" >' in event_reads[0]
    _same_as_fresh(filters)


def test_cases_leaving_and_entering_the_filters_follow(live_log: Log) -> None:
    case = live_log.fresh
    team = case.team
    assert team is not None
    filters = LogFilters(teams=(team.pk,))
    numbers = lambda: {row["case_id"] for row in keptlogs._kept_log(filters).table.to_pylist()}  # noqa: E731
    assert case.number in numbers()
    # The case goes to another team's agent: it leaves the filtered log.
    case = case_assign(case=case, assignee=AgentFactory(), actor=live_log.manager)
    assert case.number not in numbers()
    _same_as_fresh(filters)
    # It comes back to an agent of the team: its whole history enters again.
    case_assign(case=case, assignee=AgentFactory(team=team), actor=live_log.manager)
    assert case.number in numbers()
    _same_as_fresh(filters)
    # A new case of the team enters too.
    CaseFactory(actor=None, at=case.created_at + timedelta(days=2))
    _same_as_fresh(filters)


def test_a_reopening_and_a_late_commit_are_picked_up(live_log: Log) -> None:
    filters = LogFilters()
    keptlogs._kept_log(filters)
    case_reopen(case=live_log.standard, actor=live_log.manager, reason="again")
    _same_as_fresh(filters)
    # An event committed after a newer one keeps the newest id: the kept log has not seen it,
    # the count of the window below the newest id has moved, and the window is read again.
    kept = keptlogs._kept_log(filters)
    state = logstore.sync(kept.version)
    rows = copyrows._stored_rows(state, "stages", None, ids=True)
    late = int(rows["id"].max())  # type: ignore[arg-type]
    without = logcoding._code(rows.filter(pl.col("id") != late), kept.cases, kept.staff)
    kept.log, kept.keys = without
    kept.held = kept.held.filter(kept.held != late)  # nor has it held the event's id
    kept.version = (kept.version[0], kept.version[1] - 1, kept.version[2])
    assert keptlogs._kept_log(filters).log.n_events == rows.height  # type: ignore[union-attr]
    _same_as_fresh(filters)


def test_an_erasure_reads_the_log_again(live_log: Log) -> None:
    filters = LogFilters(view="events")
    keptlogs._kept_log(filters)
    oldest = CaseEvent.objects.order_by("id").first()
    assert oldest is not None
    with transaction.atomic(), append_only.lifted(CaseEvent._meta.db_table):
        models.QuerySet(CaseEvent).filter(pk=oldest.pk)._raw_delete("default")
    _same_as_fresh(filters)
    assert keptlogs._kept_log(filters).table.num_rows == CaseEvent.objects.count()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="ADBC reads PostgreSQL only")
def test_adbc_and_copy_read_the_same_columns() -> None:
    """Outside a transaction the log is read through ADBC, inside through COPY: same frame."""
    from serviceloop.cases import eventlog
    from tests.factories import build_process_version

    build_process_version(is_default=True)
    for _ in range(3):
        CaseFactory()
    queryset = eventlog._events_queryset(
        kinds=None,
        case_lookups=None,
        case_range=None,
        window=(None, None),
        window_exempt=(),
        after_id=None,
        holders=True,
    )
    sql, params = queryset.query.sql_with_params()
    schema = dict(eventlog.RAW_SCHEMA) | {"timestamp": pl.String}
    through_copy = eventlog._copy_frame(sql, params, schema)
    through_adbc = eventlog._adbc_frame(connection.ops.compose_sql(sql, params), schema)
    as_time = {"timestamp": eventlog.parse_timestamps(through_copy["timestamp"])}
    assert (
        through_copy.with_columns(**as_time)
        .sort("id")
        .equals(
            through_adbc.with_columns(pl.col("timestamp").cast(pl.Datetime("us", "UTC"))).sort("id")
        )
    )
    assert through_copy.height == CaseEvent.objects.count() > 0


def _assert_coded_as_the_general_build(filters: LogFilters) -> None:
    """The kept log (spliced after new events) and the log coded straight from a fresh read of
    the copy are both the one the library's general build makes of the same rows: same codes,
    order, names and attributes."""
    from serviceloop.analytics import from_polars

    kept = keptlogs._kept_log(filters)
    state = logstore.sync(kept.version)
    fresh = logcoding._read(filters, state)
    rows = copyrows._stored_rows(state, filters.view, fresh.cases["__case"])
    general = from_polars(logcoding.log_frame(rows, fresh.cases), duplicates="keep")
    for log in (kept.log, fresh.log):
        assert log is not None
        assert log.coded().equals(general.coded())
        assert log.coded().schema == general.coded().schema
        for names in ("activity_names", "case_names", "resource_names"):
            assert getattr(log, names).to_list() == getattr(general, names).to_list(), names
        assert log.attributes == general.attributes
        # The cases given with the log are the ones its rows carry.
        given = log.memo(logcoding.CASES_MEMO, lambda: None)
        assert given.equals(case_attributes(log, "version", "status"))
    assert kept.keys.to_list() == fresh.keys.to_list()


@pytest.mark.parametrize(
    "filters",
    [LogFilters(), LogFilters(view="events"), LogFilters(priorities=("normal", "low"))],
    ids=["stages", "events", "filtered"],
)
def test_the_coded_log_is_the_general_build_also_after_new_events(
    live_log: Log, filters: LogFilters
) -> None:
    _assert_coded_as_the_general_build(filters)
    walk(live_log.fresh, live_log.version, live_log.manager, [("analysis", 1)])
    _assert_coded_as_the_general_build(filters)
    case_reopen(case=live_log.standard, actor=live_log.manager, reason="again")
    CaseFactory(actor=None, at=live_log.fresh.created_at + timedelta(days=1))
    _assert_coded_as_the_general_build(filters)


@pytest.mark.parametrize("view", ["stages", "events"])
def test_an_event_dated_before_its_cases_last_one_is_read_in_time_order(
    live_log: Log, view: str
) -> None:
    """The copy's newer file holds an event older than the case's events in the first file:
    reading the copy afresh still orders the case's rows by time."""
    filters = LogFilters(view=view)  # type: ignore[arg-type]
    keptlogs._kept_log(filters)  # the copy is written: the case's events are in its first file
    case_reopen(
        case=live_log.standard,
        actor=live_log.manager,
        reason="dated back",
        at=live_log.standard.created_at + timedelta(minutes=30),
    )
    keptlogs.forget_kept_logs()  # a fresh process reads the copy's two files
    _same_as_fresh(filters)


@pytest.mark.parametrize("view", ["stages", "events"])
def test_new_events_are_spliced_into_the_kept_log_without_reading_it_whole(
    live_log: Log, view: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After new events and a reopening, the kept log takes the touched cases' histories alone
    from the copy (never the whole log) and still equals a fresh read and the general build; a
    person the log has not named yet changes every row's codes: the log is read again whole."""
    case = live_log.fresh
    team = case.team
    assert team is not None
    filters = LogFilters(view=view, teams=(team.pk,))  # type: ignore[arg-type]
    everything = LogFilters(view=view)  # type: ignore[arg-type]
    for each in (filters, everything):
        keptlogs._kept_log(each)
    reads = whole_reads(monkeypatch)
    walk(case, live_log.version, live_log.manager, [("analysis", 1)])
    case_reopen(case=live_log.standard, actor=live_log.manager, reason="again")
    # The team's log may meet a step or a person its cases had not (then it is read whole).
    assert keptlogs._kept_log(everything).log is not None
    assert reads == []
    for each in (filters, everything):
        _same_as_fresh(each)
        _assert_coded_as_the_general_build(each)
    reads.clear()
    case_assign(case=case, assignee=AgentFactory(team=team), actor=live_log.manager)
    keptlogs._kept_log(everything)
    assert reads == [everything]
    for each in (filters, everything):
        _same_as_fresh(each)
        _assert_coded_as_the_general_build(each)


def _random_log(seed: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Rows in log order, their cases and staff: a few cases, activities and people."""
    import random

    rng = random.Random(seed)
    keys = sorted(rng.sample(range(1, 400), 40))
    rows = []
    for key in keys:
        for step in range(rng.randint(1, 6)):
            rows.append((key, key * 100 + step, rng.choice("abcd"), step, rng.choice([1, 2, 3, 9])))
    frame = pl.DataFrame(
        rows, schema=["__case", "id", "activity", "minute", "actor"], orient="row"
    ).select(
        "__case",
        "id",
        pl.col("activity").cast(pl.Categorical),
        (pl.lit(0, pl.Int64) + pl.col("minute") * 60_000_000)
        .cast(pl.Datetime("us", "UTC"))
        .alias("timestamp"),
        "actor",
    )
    cases = pl.DataFrame(
        {
            "__case": keys,
            "case_id": [f"C{key:04d}" for key in keys],
            "team": [rng.choice(["x", "y"]) for _ in keys],
            "category": ["c"] * len(keys),
            "priority": [rng.choice(["high", "low"]) for _ in keys],
            "channel": ["email"] * len(keys),
            "version": [1] * len(keys),
            "status": ["open"] * len(keys),
        }
    )
    staff = pl.DataFrame({"actor": [1, 2, 3], "resource": ["ann", "bob", "cy"]})
    return frame, cases, staff


@pytest.mark.parametrize("seed", range(12))
def test_a_spliced_log_is_the_log_coded_afresh(seed: int) -> None:
    """Cases taken out anywhere (first, last, side by side) and put in anywhere (again with
    another priority and process version, new, between two kept ones): the spliced log equals
    the one coded from the resulting rows."""
    import random

    rows, cases, staff = _random_log(seed)
    rng = random.Random(seed)
    keys = cases["__case"].to_list()
    old_keys = rng.sample(keys, 30)
    old_rows = rows.filter(pl.col("__case").is_in(old_keys))
    old_cases = cases.filter(pl.col("__case").is_in(old_keys))
    old, kept_keys = logcoding._code(old_rows, old_cases, staff)
    assert old is not None
    gone_keys = set(rng.sample(old_keys, rng.randint(0, 8)))
    back = set(rng.sample(sorted(gone_keys), len(gone_keys) // 2)) if gone_keys else set()
    new_keys = set(rng.sample([k for k in keys if k not in old_keys], rng.randint(0, 6)))
    fresh_keys = sorted(back | new_keys)
    now_keys = (set(old_keys) - gone_keys) | back | new_keys
    # The cases that come back changed: another priority and process version.
    changed = pl.col("__case").is_in(sorted(back))
    now_cases = cases.filter(pl.col("__case").is_in(sorted(now_keys))).with_columns(
        pl.when(changed).then(pl.lit("low")).otherwise(pl.col("priority")).alias("priority"),
        pl.when(changed).then(pl.lit(2)).otherwise(pl.col("version")).alias("version"),
    )
    fresh_rows = rows.filter(pl.col("__case").is_in(fresh_keys))
    dtypes = logcoding._case_dtypes(now_cases)
    expected, expected_keys = logcoding._code(
        rows.filter(pl.col("__case").is_in(sorted(now_keys))), now_cases, staff
    )
    assert expected is not None
    fresh, fresh_case_keys = logcoding._code(
        fresh_rows,
        now_cases,
        staff,
        dtypes=dtypes,
        activity_names=old.activity_names,
        resource_names=old.resource_names,
    )
    same_dtypes = all(old.coded().schema[n] == d for n, d in dtypes.items())
    spliced = splicing._spliced(
        old,
        kept_keys,
        kept_keys.is_in(sorted(gone_keys | back)),
        fresh,
        fresh_case_keys,
    )
    names_same = expected.activity_names.to_list() == old.activity_names.to_list() and (
        expected.resource_names.to_list() == old.resource_names.to_list()  # type: ignore[union-attr]
    )
    if fresh_rows.height and fresh is None:
        assert not names_same  # a fresh name: the log is read whole instead
        return
    if not names_same:
        assert spliced is None
        return
    assert spliced is not None
    log, spliced_keys = spliced
    assert spliced_keys.to_list() == expected_keys.to_list()
    assert log.case_names.to_list() == expected.case_names.to_list()
    if same_dtypes:
        assert log.coded().equals(expected.coded())
        assert log.coded().schema == expected.coded().schema
        given = log.memo(logcoding.CASES_MEMO, lambda: None)
        assert given.equals(case_attributes(expected, "version", "status"))
    # The use counts kept on the spliced log (for the next splice) are its rows' counts.
    for column, names in (("__act", log.activity_names), ("__res", log.resource_names)):
        assert names is not None
        held = log.memo(("insights.name_counts", column), lambda: None)
        values = log.coded()[column].drop_nulls().to_list()
        assert list(held) == [values.count(code) for code in range(names.len())]


def test_a_splice_that_would_drop_a_name_is_refused() -> None:
    """The one case that did step ``z`` goes: a fresh coding would drop the name and move the
    codes after it, so the splice is refused (the log is then read whole)."""
    rows, cases, staff = _random_log(3)
    first = cases["__case"][0]
    rows = rows.with_columns(
        pl.when(pl.col("__case") == first)
        .then(pl.lit("z"))
        .otherwise(pl.col("activity").cast(pl.String))
        .cast(pl.Categorical)
        .alias("activity")
    )
    old, keys = logcoding._code(rows, cases, staff)
    assert old is not None
    assert "z" in old.activity_names.to_list()
    gone = keys == first
    no_keys = pl.Series("__case", [], pl.Int64)
    assert splicing._spliced(old, keys, gone, None, no_keys) is None
    assert splicing._spliced(old, keys, keys == cases["__case"][1], None, no_keys)


def test_keys_are_read_as_4_bytes_only_where_every_one_fits(tmp_path: Path) -> None:
    """By the files' statistics: every case and person id in 0..2**32-1, or none at all."""
    frame = pl.DataFrame(
        {"__case": [0, 2**32 - 1], "actor": [None, 7]}, schema_overrides={"actor": pl.Int64}
    )

    def written(name: str, rows: pl.DataFrame, statistics: bool = True) -> Path:
        path = tmp_path / f"{name}.parquet"
        rows.write_parquet(path, statistics=statistics)
        return path

    fits = written("fits", frame)
    assert copyrows._fits_4_bytes([fits])
    assert copyrows._fits_4_bytes([fits, written("nobody", frame.with_columns(actor=None))])
    assert not copyrows._fits_4_bytes(
        [fits, written("big", frame.with_columns(pl.col("actor") + 2**32))]
    )
    assert not copyrows._fits_4_bytes(
        [written("negative", frame.with_columns(pl.col("__case") - 1))]
    )
    assert not copyrows._fits_4_bytes([written("unknown", frame, statistics=False)])


def _version_numbered_from(
    first_id: int, like: ProcessVersion, request: pytest.FixtureRequest
) -> ProcessVersion:
    """A published version of a new process whose id is at least ``first_id``, its stages run by
    the teams of ``like`` (so its cases bring no team the log has not named)."""
    table = ProcessVersion._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A sequence is not rolled back with the test's transaction: set back after it.
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            sequence = cursor.fetchone()[0]
            cursor.execute(f"SELECT last_value, is_called FROM {sequence}")  # noqa: S608
            last, called = cursor.fetchone()

            def set_back() -> None:
                with connection.cursor() as again:
                    again.execute("SELECT setval(%s, %s, %s)", [sequence, last, called])

            request.addfinalizer(set_back)
            cursor.execute("SELECT setval(%s, %s)", [sequence, first_id])
        else:  # SQLite's AUTOINCREMENT goes on from the highest id ever given
            cursor.execute(
                "UPDATE sqlite_sequence SET seq = MAX(seq, %s) WHERE name = %s",
                [first_id, table],
            )
    return build_process_version(
        front_team=stage_of(like, "intake").responsible_team,
        back_team=stage_of(like, "delivery").responsible_team,
        analysis_checklist=(),
        analysis_required=(),
    )


@pytest.mark.parametrize("view", ["stages", "events"])
def test_the_version_column_is_narrow_and_a_case_of_a_wider_id_reads_the_log_whole(
    live_log: Log, view: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """The per-event process version id takes 2 bytes while every kept case's id fits; a new
    case of a version id beyond 65,535 cannot be spliced in as one: the log is read whole
    again, 4 bytes wide, and answers as a fresh read does."""
    filters = LogFilters(view=view)  # type: ignore[arg-type]
    kept = keptlogs._kept_log(filters)
    assert kept.log is not None
    assert kept.log.coded().schema["version"] == pl.UInt16
    assert (
        kept.table.schema.field("version").type == event_table(filters).schema.field("version").type
    )
    reads = whole_reads(monkeypatch)
    wide = _version_numbered_from(2**16, live_log.version, request)
    assert wide.pk >= 2**16
    CaseFactory(
        process_version=wide,
        priority="high",
        channel="email",
        actor=live_log.manager,
        at=live_log.fresh.created_at + timedelta(days=1),
    )
    state = logstore.sync(keptlogs.event_log_version())
    cases = copyrows._stored_cases(state, filters)
    # Only the version column's type tells the splice apart from one that is taken piece-wise.
    old_schema = kept.log.coded().schema
    changed = {n for n, d in logcoding._case_dtypes(cases).items() if old_schema[n] != d}
    assert changed == {"version"}
    now = keptlogs._kept_log(filters)
    assert reads == [filters]
    assert now.log is not None
    assert now.log.coded().schema["version"] == pl.UInt32
    _same_as_fresh(filters)
    _assert_coded_as_the_general_build(filters)
    counts = dict(
        case_attributes(now.log, "version", "status").group_by("version").len().iter_rows()
    )
    assert counts[wide.pk] == 1
    assert sum(counts.values()) == now.log.n_cases


def test_a_process_lets_go_of_logs_beyond_its_byte_budget(
    live_log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beyond ``KEPT_BYTES`` the least recently used logs go; the one used last always stays."""
    keptlogs.forget_kept_logs()
    stages, normal, events = (
        LogFilters(),
        LogFilters(priorities=("normal",)),
        LogFilters(view="events"),
    )
    selectors.event_log(stages)
    selectors.event_log(normal)
    assert list(keptlogs._kept) == [stages.database_key(), normal.database_key()]
    monkeypatch.setattr(keptlogs, "KEPT_BYTES", 1)
    assert selectors.event_log(events) is not None
    assert list(keptlogs._kept) == [events.database_key()]
