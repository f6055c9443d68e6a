"""The overview's analyses on Polars (each case's first and last event from the rows where the
case changes, once per log, not the next-event table) equal a plain Python count of the rows:
the case durations and the cases opened and closed per day and week, in UTC and in zones with
and without daylight saving."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serviceloop.analytics import case_durations, from_polars, throughput

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
START = datetime(2025, 3, 25, tzinfo=UTC)  # days before and after Europe's clock change

ROWS = st.lists(
    st.tuples(st.integers(0, 6), st.sampled_from(["a", "b", "done"]), st.integers(0, 20 * 24)),
    min_size=1,
    max_size=40,
)


@SETTINGS
@given(ROWS, st.sampled_from([None, "UTC", "Asia/Shanghai", "Europe/Berlin"]))
def test_durations_and_throughput_equal_a_plain_count(rows, zone) -> None:  # type: ignore[no-untyped-def]
    frame = pl.DataFrame(
        {
            "case_id": [f"c{r[0]}" for r in rows],
            "activity": [r[1] for r in rows],
            "timestamp": [START + timedelta(hours=r[2]) for r in rows],
        }
    )
    log = from_polars(frame, duplicates="keep")
    ordered = log.to_polars().select("case_id", "activity", "timestamp")  # case and time order
    cases: dict[str, list[tuple[str, datetime]]] = {}
    for case, activity, at in ordered.iter_rows():
        cases.setdefault(case, []).append((activity, at))
    durations = case_durations(log)
    assert durations["case_id"].to_list() == list(cases)
    assert durations["events"].to_list() == [len(v) for v in cases.values()]
    assert durations["duration_seconds"].to_list() == [
        (v[-1][1] - v[0][1]).total_seconds() for v in cases.values()
    ]
    where = ZoneInfo(zone) if zone else UTC

    def day(at: datetime) -> date:
        return at.astimezone(where).date()

    for every in ("day", "week"):
        for ends in (None, ["done"]):
            out = throughput(log, every=every, closed_activities=ends, time_zone=zone)

            def period(at: datetime, every: str = every) -> date:
                d = day(at)
                return d if every == "day" else d - timedelta(days=d.weekday())

            opened = Counter(period(v[0][1]) for v in cases.values())
            closed = Counter(
                period(v[-1][1]) for v in cases.values() if ends is None or v[-1][0] in ends
            )
            got = {row[0]: row[1:3] for row in out.iter_rows()}
            assert {p: o for p, (o, _) in got.items() if o} == dict(opened)
            assert {p: c for p, (_, c) in got.items() if c} == dict(closed)
            assert min(got) == min([*opened, *closed])
            assert max(got) == max([*opened, *closed])
