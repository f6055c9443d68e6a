"""Discovery, performance and filters on a small log with answers worked out by hand.

Every test runs on every engine (Polars; Spark under the ``spark`` marker).
"""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from serviceloop.analytics import (
    EmptyLogError,
    InvalidParameterError,
    activity_times,
    analyze,
    bottlenecks,
    case_durations,
    dfg,
    end_activities,
    filter_activities,
    filter_attribute,
    filter_case_duration,
    filter_time,
    filter_variants,
    from_polars,
    handovers,
    process_map,
    resource_workload,
    rework,
    rework_by_attribute,
    rework_cases,
    start_activities,
    throughput,
    variants,
)
from serviceloop.analytics.performance import _UTC

MONDAY = 1_704_067_200  # 2024-01-01 00:00 UTC, a Monday
DAY = 86_400
ROWS = [  # case, activity, seconds after MONDAY, resource, channel
    ("c1", "a", 0, "r1", "email"),
    ("c1", "b", 60, "r2", "email"),
    ("c1", "c", 180, "r2", "email"),
    ("c1", "b", 240, "r1", "email"),
    ("c1", "d", 300, "r3", "email"),
    ("c2", "a", 0, "r1", "phone"),
    ("c2", "b", 120, "r2", "phone"),
    ("c2", "b", 180, "r2", "phone"),
    ("c2", "d", 600, "r3", "phone"),
    ("c3", "a", 3 * DAY, "r1", "email"),
    ("c3", "c", 3 * DAY + 30, "r4", "email"),
]


@pytest.fixture(scope="module")
def small_polars():
    case, act, sec, res, chan = zip(*ROWS, strict=True)
    frame = pl.DataFrame(
        {
            "case_id": case,
            "activity": act,
            "timestamp": [MONDAY + s for s in sec],
            "resource": res,
            "channel": chan,
        }
    )
    return from_polars(frame)


@pytest.fixture
def small(small_polars, engine):
    return engine(small_polars)


def edges(frame: pl.DataFrame, *cols: str) -> dict:
    return {
        (r["source"], r["target"]): tuple(r[c] for c in cols) for r in frame.iter_rows(named=True)
    }


def test_dfg_frequency_and_performance(small):
    got = edges(dfg(small), "count", "cases", "mean_seconds", "median_seconds", "p90_seconds")
    assert got == {
        ("a", "b"): (2, 2, 90.0, 90.0, 114.0),
        ("b", "d"): (2, 2, 240.0, 240.0, 384.0),
        ("b", "c"): (1, 1, 120.0, 120.0, 120.0),
        ("c", "b"): (1, 1, 60.0, 60.0, 60.0),
        ("b", "b"): (1, 1, 60.0, 60.0, 60.0),
        ("a", "c"): (1, 1, 30.0, 30.0, 30.0),
    }
    assert dfg(small)[["source", "target"]].row(0) == ("a", "b")  # count desc, then names


def test_start_end_and_variants(small):
    assert start_activities(small).rows() == [("a", 3)]
    assert end_activities(small).rows() == [("d", 2), ("c", 1)]
    v = variants(small)
    assert v["activities"].to_list() == [list("abcbd"), list("abbd"), list("ac")]
    assert v["share"].to_list() == pytest.approx([1 / 3] * 3)


def test_case_durations(small):
    d = case_durations(small)
    assert d.select("case_id", "duration_seconds", "events").rows() == [
        ("c1", 300.0, 5),
        ("c2", 600.0, 4),
        ("c3", 30.0, 2),
    ]
    assert d["start"][2] == dt.datetime(2024, 1, 4, tzinfo=dt.UTC)


def test_bottlenecks_rank_by_total_waiting(small):
    b = bottlenecks(small)
    top = b.select("kind", "source", "target", "total_seconds").rows()[:4]
    assert top == [
        ("activity", None, "d", 480.0),
        ("edge", "b", "d", 480.0),
        ("activity", None, "b", 300.0),
        ("edge", "a", "b", 180.0),
    ]
    assert b.filter(kind="edge")["share"].sum() == pytest.approx(1.0)


def test_rework_per_case_activity_and_attribute(small):
    assert rework_cases(small).rows() == [
        ("c1", 5, 1, 0, 1),
        ("c2", 4, 1, 1, 0),
        ("c3", 2, 0, 0, 0),
    ]
    assert rework(small).row(0) == ("b", 2, 2, 1.0, 2, 1)
    by = rework_by_attribute(small, "channel")
    assert by.rows() == [("phone", 1, 1, 1.0, 1.0), ("email", 2, 1, 0.5, 0.5)]
    with pytest.raises(InvalidParameterError):
        rework_by_attribute(small, "team")


def test_throughput_per_day_and_week(small):
    day = throughput(small)
    assert day["period"].to_list() == [dt.date(2024, 1, d) for d in (1, 2, 3, 4)]
    assert day.select("opened", "closed", "backlog").rows() == [
        (2, 2, 0),
        (0, 0, 0),
        (0, 0, 0),
        (1, 1, 0),
    ]
    open_c3 = throughput(small, closed_activities=["d"])
    assert open_c3["backlog"].to_list() == [0, 0, 0, 1]
    assert throughput(small, every="week").rows() == [(dt.date(2024, 1, 1), 3, 3, 0)]


def test_resources_and_handovers(small):
    assert resource_workload(small).select("resource", "events", "cases").rows() == [
        ("r1", 4, 3),
        ("r2", 4, 2),
        ("r3", 2, 2),
        ("r4", 1, 1),
    ]
    h = edges(handovers(small), "count", "mean_seconds")
    assert h == {
        ("r1", "r2"): (2, 90.0),
        ("r2", "r1"): (1, 60.0),
        ("r1", "r3"): (1, 60.0),
        ("r2", "r3"): (1, 420.0),
        ("r1", "r4"): (1, 30.0),
    }


def test_process_map_thresholds(small):
    full = process_map(small)
    assert full.edges.height == 6 and full.nodes.height == 4
    cut = process_map(small, activities=0.5, paths=0.0)
    assert cut.nodes["activity"].to_list() == ["b", "a"]
    # with no paths asked for, each kept activity still keeps its strongest edges
    assert edges(cut.edges, "count") == {("a", "b"): (2,), ("b", "b"): (1,)}
    with pytest.raises(InvalidParameterError):
        process_map(small, paths=1.5)


def test_filters(small):
    assert filter_time(small, start="2024-01-02", mode="started").n_cases == 1
    assert filter_time(small, end=dt.date(2024, 1, 2), mode="contained").n_cases == 2
    window = filter_time(
        small, start="2024-01-01T00:01:00", end="2024-01-01T00:05:00", mode="events"
    )
    assert window.n_events == 5  # [60 s, 300 s): c1 b, c, b and c2 b, b
    assert filter_attribute(small, "channel", ["phone"]).n_cases == 1
    assert filter_attribute(small, "channel", ["phone"], keep=False).n_cases == 2
    assert filter_attribute(small, "resource", ["r4"]).n_cases == 1
    assert filter_case_duration(small, max_seconds=100).n_cases == 1
    assert filter_case_duration(small, min_seconds=300).n_cases == 2
    assert case_durations(filter_variants(small, top=1))["case_id"].to_list() == ["c1"]
    assert filter_variants(small, [["a", "c"]], keep=False).n_cases == 2
    no_b = filter_activities(small, ["b"], keep=False)
    assert ("a", "d") in edges(dfg(no_b), "count")
    with pytest.raises(InvalidParameterError):
        filter_variants(small, [["a", "zzz"]])


def test_analyze_json_shape(small):
    out = analyze(small, rework_attributes=["channel"]).to_dict()
    json.dumps(out)  # plain Python all the way down
    assert out["cases"]["count"] == 3 and out["events"] == 11
    assert set(out["cases"]["duration_seconds"]) >= {"mean", "median", "p90"}
    assert out["start_activities"] == {"a": 3}
    assert set(out["dfg"][0]) >= {
        "source",
        "target",
        "count",
        "mean_seconds",
        "median_seconds",
        "p90_seconds",
    }
    assert out["variants"][0] == {"activities": list("abcbd"), "count": 1, "share": 1 / 3}
    assert out["bottlenecks"][0]["total_seconds"] == 480.0
    assert out["rework"][0]["activity"] == "b"
    assert {"throughput", "handovers", "resources", "rework_by_attribute"} <= out.keys()
    with pytest.raises(EmptyLogError):
        analyze(filter_attribute(small, "channel", ["fax"]))


def test_analyze_variants_as_enums_and_as_strings_equal_variants(small):
    """The result keeps its variants' activities as Enums (what the JSON and the report read);
    its ``variants`` are those of :func:`variants`, strings, to the last row."""
    result = analyze(small)
    want = variants(small)
    assert_frame_equal(result.variants, want, check_exact=True)
    assert result.enum_variants["activities"].dtype == pl.List(pl.Enum(small.activity_names))
    assert result.enum_variants.rows() == want.rows()


def test_analyze_rework_cases_on_first_use_equal_rework_cases(small):
    """Rework per case is computed when asked, as :func:`rework_cases` computes it; the
    report's count of cases with rework is that frame's."""
    result = analyze(small)
    want = rework_cases(small)
    assert result.cases_with_rework == int((want["repeats"] > 0).sum()) == 2
    assert_frame_equal(result.rework_cases, want, check_exact=True)


def test_start_timestamps_split_waiting_from_processing(engine):
    frame = pl.DataFrame(
        {
            "case_id": ["x", "x"],
            "activity": ["a", "b"],
            "start_timestamp": [0, 30],
            "timestamp": [10, 100],
        }
    )
    log = engine(from_polars(frame))
    times = {r["activity"]: r for r in activity_times(log).iter_rows(named=True)}
    assert times["a"]["processing_mean_seconds"] == 10.0
    assert times["b"]["processing_mean_seconds"] == 70.0
    assert times["b"]["wait_mean_seconds"] == 20.0
    assert bottlenecks(log).filter(kind="edge")["total_seconds"].to_list() == [20.0]
    assert case_durations(log)["duration_seconds"].to_list() == [100.0]


def test_unknown_engine_is_refused(small_polars):
    from serviceloop.analytics import EngineError

    with pytest.raises(EngineError, match="unknown engine"):
        small_polars.with_engine("duckdb")


def test_filters_return_logs_that_still_answer_like_fresh_ones(small_polars):
    kept = filter_attribute(small_polars, "channel", ["email"])
    fresh = from_polars(kept.to_polars())
    assert dfg(kept).equals(dfg(fresh))
    assert variants(kept).equals(variants(fresh))


def _utc(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp())


@pytest.fixture(scope="module")
def across_dst_polars():
    """New York spring-forward on 2024-03-10; Shanghai is UTC+8 all year."""
    rows = [  # case, UTC time
        (
            "x",
            "2024-03-09 04:30",
        ),  # 23:30 on 8 March in New York (EST), 12:30 on 9 March in Shanghai
        ("x", "2024-03-09 20:00"),  # 15:00 on 9 March in New York, 04:00 on 10 March in Shanghai
        ("y", "2024-03-11 03:30"),  # 23:30 on 10 March in New York (EDT; 22:30 had EST stayed)
        ("z", "2024-03-11 04:30"),  # 00:30 on 11 March in New York (EDT; still 10 March in EST)
    ]
    return from_polars(
        pl.DataFrame(
            {
                "case_id": [c for c, _ in rows],
                "activity": ["a"] * len(rows),
                "timestamp": [_utc(t) for _, t in rows],
            }
        )
    )


@pytest.fixture
def across_dst(across_dst_polars, engine):
    return engine(across_dst_polars)


def test_throughput_days_begin_where_the_time_zone_says(across_dst):
    def opened(**kwargs):
        out = throughput(across_dst, **kwargs)
        return {
            row["period"].day: row["opened"] for row in out.iter_rows(named=True) if row["opened"]
        }

    assert opened() == {9: 1, 11: 2}  # UTC days
    assert opened(time_zone="America/New_York") == {8: 1, 10: 1, 11: 1}
    assert opened(time_zone="Asia/Shanghai") == {9: 1, 11: 2}
    closed = throughput(across_dst, time_zone="Asia/Shanghai")
    assert closed.filter(pl.col("closed") > 0)["period"].to_list() == [
        dt.date(2024, 3, 10),  # case x closes at 04:00 Shanghai time on the 10th
        dt.date(2024, 3, 11),
    ]
    with pytest.raises(InvalidParameterError, match="unknown time zone 'Mars/Olympus'"):
        throughput(across_dst, time_zone="Mars/Olympus")


@pytest.mark.parametrize("zone", sorted(_UTC))
def test_throughput_in_the_names_of_utc_equals_it_without_a_zone(across_dst, zone):
    """The zones that are UTC under another name skip the offsets: the same days."""
    assert ZoneInfo(zone).utcoffset(dt.datetime(2024, 7, 1)) == dt.timedelta(0)
    for every in ("day", "week"):
        want = throughput(across_dst, every=every)
        assert_frame_equal(throughput(across_dst, every=every, time_zone=zone), want)
