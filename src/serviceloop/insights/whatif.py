"""What-if runs on the live process: discover the model, simulate as-is and the changes.

A run is started from the what-if page and goes on in a background thread of the web process; its
state (queued, running with progress, done with the results, or failed with the reason) is one
JSON file under ``DATA_DIR/whatif/``, replaced whole at every step, so the page can follow it
and results are kept after the process ends. A run that was running when its process stopped is
shown as interrupted.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import threading
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from serviceloop.analytics import AnalyticsError
from serviceloop.core.exceptions import ApplicationError
from serviceloop.core.messages import Problem
from serviceloop.insights.keptlogs import event_log_version
from serviceloop.insights.selectors import LogFilters, event_log

__all__ = [
    "ARRIVAL_WEEKS",
    "WhatIfError",
    "completion_log",
    "stage_teams",
    "whatif_as_is_model",
    "whatif_execute",
    "whatif_forget",
    "whatif_get",
    "whatif_list",
    "whatif_model_discover",
    "whatif_start",
]

# New cases arrive at the rate of the log's last eight weeks (``serviceloop simulate``'s default
# too); a run may take another window, or 0 for the whole log's mean rate.
ARRIVAL_WEEKS = 8
_ID = re.compile(r"^[0-9a-f]{16}$")
_RUNNING: set[str] = set()  # runs this process is working on (others that say "running" died)
_LOCK = threading.Lock()
logger = logging.getLogger(__name__)


class WhatIfError(ApplicationError):
    """A what-if request that cannot run (no log, a bad change): a coded problem, said in the
    reader's language where it is shown (``exc.message``)."""


def _refusal(exc: AnalyticsError, fallback: str) -> Problem:
    """The library's refusal as a coded problem: why the log gives no model, as data; anything
    else (the page's own checks make it rare) under ``fallback``, its English in the log."""
    from serviceloop.analytics.simulation import ModelDiscoveryError

    if isinstance(exc, ModelDiscoveryError) and exc.reason == "too_small":
        return Problem("whatif_log_too_small", dict(exc.values))
    if isinstance(exc, ModelDiscoveryError) and exc.reason == "too_short":
        return Problem("whatif_log_too_short", dict(exc.values))
    logger.warning("what-if refused: %s", exc)
    return Problem(fallback)


def _folder() -> Path:
    folder = Path(settings.DATA_DIR) / "whatif"
    folder.mkdir(mode=0o750, parents=True, exist_ok=True)
    return folder


def _path(run_id: str) -> Path:
    if not _ID.match(run_id):
        raise WhatIfError(Problem("whatif_no_run"))
    return _folder() / f"{run_id}.json"


def _write(state: dict[str, Any]) -> None:
    path = _path(state["id"])
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(state, ensure_ascii=False, allow_nan=False), encoding="utf-8")
    os.replace(partial, path)


def stage_teams() -> dict[str, str]:
    """Each stage's responsible team, as the process design says (the newest version wins)."""
    from serviceloop.processes.models import Stage

    teams: dict[str, str] = {}
    for name, team in (
        Stage.objects.filter(responsible_team__isnull=False, is_end=False)
        .order_by("version_id", "order")
        .values_list("name", "responsible_team__name")
    ):
        teams[name] = team
    return teams


def completion_log(log: Any) -> Any:
    """The live log says when a case entered each stage, and who moved it there; a stage's work
    ends when the case enters the next one. So each stage visit becomes one completion event:
    the stage left, when it was left, by whom. A case's last, still open stage has none yet."""
    import polars as pl

    from serviceloop.analytics import from_polars

    frame = log.to_polars().select("case_id", "activity", "timestamp", "resource")
    done = (
        frame.with_columns(pl.col("activity").shift(1).over("case_id").alias("left"))
        .filter(pl.col("left").is_not_null())
        .select("case_id", pl.col("left").alias("activity"), "timestamp", "resource")
    )
    return from_polars(done, resource="resource", duplicates="keep")


_MODELS: dict[Any, Any] = {}  # the as-is model of each log version (the newest only)


def whatif_as_is_model(*, arrival_weeks: int = ARRIVAL_WEEKS) -> Any:
    """The as-is model of the whole live log, its stages worked by their responsible teams,
    new cases at the rate of its last ``arrival_weeks`` weeks (0: the whole log's mean).

    Kept in the process while the log does not change (its version: newest event id and the
    count of recent ids), so the page does not discover the model again at every visit.
    """
    log_key = (event_log_version(), tuple(sorted(stage_teams().items())), settings.TIME_ZONE)
    key = (*log_key, arrival_weeks)
    with _LOCK:
        if key in _MODELS:
            return _MODELS[key]
    model = _discover(arrival_weeks=arrival_weeks or None)
    with _LOCK:
        for old in [k for k in _MODELS if k[:-1] != log_key]:
            del _MODELS[old]
        _MODELS[key] = model
    return model


def whatif_forget() -> None:
    """Drop the kept as-is model (tests start each database from the same ids)."""
    with _LOCK:
        _MODELS.clear()


def _discover(**options: Any) -> Any:
    from serviceloop.analytics.simulation import discover_model

    log = event_log(LogFilters())
    if log is None:
        raise WhatIfError(Problem("whatif_log_empty"))
    try:
        stages = completion_log(log)
        teams = {a: t for a, t in stage_teams().items() if a in stages.activities}
        return discover_model(stages, pools=teams or None, time_zone=settings.TIME_ZONE, **options)
    except AnalyticsError as exc:
        raise WhatIfError(_refusal(exc, "whatif_model_failed")) from exc


def whatif_model_discover(**options: Any) -> Any:
    """The as-is model of the live log discovered afresh with ``discover_model`` options
    (e.g. ``max_utilisation``), not kept: for studies of the discovery itself."""
    return _discover(**options)


def whatif_start(
    *,
    actor: Any,
    changes: list[str],
    replications: int,
    weeks: int,
    arrival_weeks: int = ARRIVAL_WEEKS,
) -> str:
    """Check the changes, record a queued run and start it in the background; returns its id."""
    from serviceloop.analytics.simulation import Scenario, parse_change, parse_hours

    if not changes:
        raise WhatIfError(Problem("whatif_pick_change"))
    for change in changes:
        kind, _, value = change.partition(" ")
        if kind == "hours":
            try:
                parse_hours(value)
            except AnalyticsError:
                raise WhatIfError(Problem("whatif_hours_invalid", {"value": value})) from None
    model = whatif_as_is_model(arrival_weeks=arrival_weeks)
    try:
        scenario = Scenario("what-if", tuple(parse_change(c) for c in changes))
        scenario.apply(model)
    except AnalyticsError as exc:
        raise WhatIfError(_refusal(exc, "whatif_change_refused")) from exc
    run_id = uuid.uuid4().hex[:16]
    _write(
        {
            "id": run_id,
            "status": "queued",
            "created_at": timezone.now().isoformat(),
            "created_by": actor.get_username(),
            "changes": changes,
            "replications": replications,
            "weeks": weeks,
            "arrival_weeks": arrival_weeks,
            "done": 0,
            "total": replications * 2,
        }
    )
    _launch(run_id)
    return run_id


def _launch(run_id: str) -> None:
    with _LOCK:
        _RUNNING.add(run_id)
    threading.Thread(
        target=_in_thread, args=(run_id,), daemon=True, name=f"whatif-{run_id}"
    ).start()


def _in_thread(run_id: str) -> None:
    close_old_connections()
    try:
        whatif_execute(run_id)
    finally:
        connection.close()
        with _LOCK:
            _RUNNING.discard(run_id)


def whatif_execute(run_id: str) -> dict[str, Any]:
    """Run a queued what-if (the background thread calls this); returns its final state."""
    from serviceloop.analytics.simulation import Scenario, parse_change, simulate

    state = json.loads(_path(run_id).read_text(encoding="utf-8"))
    state.update(status="running", started_at=timezone.now().isoformat())
    _write(state)
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = dt.datetime.now().timestamp()
        if done == total or now - last[0] > 0.5:
            last[0] = now
            state.update(done=done, total=total)
            _write(state)

    try:
        model = whatif_as_is_model(arrival_weeks=state.get("arrival_weeks", ARRIVAL_WEEKS))
        scenario = Scenario("what-if", tuple(parse_change(c) for c in state["changes"]))
        result = simulate(
            model,
            [scenario],
            replications=state["replications"],
            weeks=state["weeks"],
            warmup_weeks=4,
            seed=0,
            progress=progress,
        )
        state.update(status="done", result=result.to_dict())
    except WhatIfError as exc:
        state.update(status="failed", error=str(exc), problem=exc.problem.as_json())
    except AnalyticsError as exc:
        problem = _refusal(exc, "whatif_change_refused")
        state.update(status="failed", error=problem.render("en"), problem=problem.as_json())
    except Exception as exc:  # a bug must still end the run visibly, not leave it "running"
        state.update(status="failed", error=f"{type(exc).__name__}: {exc}")
        _write(state)
        raise
    state["finished_at"] = timezone.now().isoformat()
    _write(state)
    return state


def whatif_get(run_id: str) -> dict[str, Any]:
    """One run's state; a run marked running that no thread here works on was interrupted."""
    try:
        state: dict[str, Any] = json.loads(_path(run_id).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WhatIfError(Problem("whatif_no_run")) from None
    if state["status"] in ("queued", "running") and run_id not in _RUNNING:
        state["status"] = "interrupted"
    return state


def whatif_list(limit: int = 20) -> list[dict[str, Any]]:
    """The latest runs, newest first (without their results)."""
    runs = []
    for path in _folder().glob("*.json"):
        try:
            state = whatif_get(path.stem)
        except (WhatIfError, ValueError):
            continue
        state.pop("result", None)
        runs.append(state)
    runs.sort(key=lambda s: s["created_at"], reverse=True)
    return runs[:limit]
