"""Deterministic generator of synthetic service-desk event logs for benchmarks and tests.

A first-order Markov chain over help-desk activities (with rework loops and a start/end) drives
every case; inter-event gaps are exponential, rounded to whole seconds so ties happen; rows are
written in global time order, the way real exports interleave cases.

Run ``python benchmarks/_gen_log.py 1e6 out.parquet [markov|distinct]`` to write a log.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import polars as pl

ACTIVITIES = [
    "Create ticket",  # 0: start
    "Assign seriousness",
    "Take in charge",
    "Wait for customer",
    "Resolve ticket",
    "Reopen",
    "Escalate",
    "Create SW anomaly",
    "Resolve SW anomaly",
    "Schedule intervention",
    "Require upgrade",
    "Insert ticket",
    "Verify",
    "Closed",  # 13: end
]
END = len(ACTIVITIES) - 1

# Transition probabilities (row: from, column: to), each row sums to 1 and Closed is absorbing.
_T = np.zeros((len(ACTIVITIES), len(ACTIVITIES)))
_T[0, [1, 2, 11]] = [0.6, 0.3, 0.1]
_T[1, [2, 6, 1]] = [0.85, 0.1, 0.05]
_T[2, [4, 3, 6, 7, 9, 2]] = [0.55, 0.15, 0.08, 0.1, 0.07, 0.05]
_T[3, [2, 4, 13]] = [0.5, 0.4, 0.1]
_T[4, [13, 12, 5]] = [0.7, 0.2, 0.1]
_T[5, [2, 1]] = [0.8, 0.2]
_T[6, [2, 7, 10]] = [0.6, 0.3, 0.1]
_T[7, [8, 3]] = [0.85, 0.15]
_T[8, [4, 2]] = [0.8, 0.2]
_T[9, [4, 3]] = [0.7, 0.3]
_T[10, [4, 13]] = [0.6, 0.4]
_T[11, [1, 2]] = [0.5, 0.5]
_T[12, [13, 5]] = [0.9, 0.1]
_T[13, 13] = 1.0
_CUM = _T.cumsum(axis=1)
# Mean waiting time (seconds) before each activity.
_MEAN_GAP = np.array(
    [0, 600, 3600, 86400, 7200, 3600, 1800, 14400, 172800, 43200, 86400, 300, 21600, 1800]
)
MAX_LEN = 60


VARIETIES = ("distinct", "markov")


def generate(
    n_events: int,
    *,
    seed: int | list[int] = 7,
    resources: int = 200,
    first_case: int = 0,
    variety: str = "markov",
) -> pl.DataFrame:
    """Return a log of about ``n_events`` events (columns case_id, activity, timestamp, ...).

    ``variety="markov"``: the help-desk chain above (about 5.6 events a case, some thousand
    variants). ``"distinct"``: about 10 events a case, the middle ones drawn at random, so nearly
    every case is its own variant (the hard case for anything that writes variants out).
    Case ids are numbered from ``first_case`` (so that chunks of one big log never share one).
    """
    if variety not in VARIETIES:
        raise ValueError(f"variety must be one of {VARIETIES}, not {variety!r}")
    rng = np.random.default_rng(seed)
    if variety == "distinct":
        case, act, ts = _distinct_cases(n_events, rng)
        return _frame(case, act, ts, rng, resources, first_case)
    n_cases = max(1, int(n_events / 5.6))
    state = np.zeros(n_cases, dtype=np.int64)
    start = np.datetime64("2023-01-01T00:00:00", "s").astype(np.int64) + rng.integers(
        0, 2 * 365 * 86400, n_cases
    )
    clock = start.copy()
    alive = np.ones(n_cases, dtype=bool)
    cols_case, cols_act, cols_ts = [np.arange(n_cases)], [state.copy()], [clock.copy()]
    for _ in range(MAX_LEN - 1):
        idx = np.flatnonzero(alive)
        if idx.size == 0:
            break
        u = rng.random(idx.size)
        nxt = (u[:, None] > _CUM[state[idx]]).sum(axis=1)
        nxt = np.minimum(nxt, END)
        gap = np.rint(rng.exponential(_MEAN_GAP[nxt])).astype(np.int64)
        clock[idx] += gap
        state[idx] = nxt
        cols_case.append(idx)
        cols_act.append(nxt)
        cols_ts.append(clock[idx].copy())
        alive[idx[nxt == END]] = False
    case = np.concatenate(cols_case)
    act = np.concatenate(cols_act)
    ts = np.concatenate(cols_ts)
    if case.size > n_events:  # trim whole trailing cases to stay near the requested size
        keep = case < np.searchsorted(np.cumsum(np.bincount(case)), n_events)
        case, act, ts = case[keep], act[keep], ts[keep]
    return _frame(case, act, ts, rng, resources, first_case)


def _distinct_cases(
    n_events: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cases of 6 to 14 events: 'Create ticket', random middle activities, 'Closed'."""
    n_cases = max(1, n_events // 10)
    lengths = rng.integers(6, 15, n_cases)
    keep = np.searchsorted(np.cumsum(lengths), n_events, side="right")
    lengths = lengths[: max(1, keep)]
    n_cases = lengths.size
    case = np.repeat(np.arange(n_cases), lengths)
    first = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    pos = np.arange(case.size) - first[case]
    act = rng.integers(1, END, case.size)
    act[pos == 0] = 0
    act[pos == lengths[case] - 1] = END
    gap = np.rint(rng.exponential(_MEAN_GAP[act])).astype(np.int64)
    gap[pos == 0] = 0
    start = np.datetime64("2023-01-01T00:00:00", "s").astype(np.int64) + rng.integers(
        0, 2 * 365 * 86400, n_cases
    )
    first_gap = np.cumsum(gap)
    ts = start[case] + first_gap - first_gap[first][case]
    return case, act, ts


def _frame(
    case: np.ndarray,
    act: np.ndarray,
    ts: np.ndarray,
    rng: np.random.Generator,
    resources: int,
    first_case: int,
) -> pl.DataFrame:
    order = np.lexsort((case, ts))  # global time order, ties by case
    case, act, ts = case[order], act[order], ts[order]
    res = rng.integers(0, resources, case.size)
    case = case + first_case
    channel = np.array(["email", "phone", "portal", "chat"])[case % 4]
    priority = np.array(["low", "normal", "high"])[(case * 7) % 3]
    return pl.DataFrame(
        {
            "case_id": pl.Series(case),
            "activity": pl.Series(np.array(ACTIVITIES)[act]),
            "timestamp": pl.Series((ts * 1_000_000).astype("datetime64[us]")).dt.replace_time_zone(
                "UTC"
            ),
            "resource": pl.Series(res),
            "channel": pl.Series(channel),
            "priority": pl.Series(priority),
        }
    ).with_columns(
        case_id=pl.lit("C") + pl.col("case_id").cast(pl.String).str.zfill(8),
        resource=pl.lit("R") + pl.col("resource").cast(pl.String),
    )


def write_big_parquet(
    n_events: int,
    path: Path,
    *,
    chunk: int = 4_000_000,
    seed: int = 7,
    variety: str = "markov",
) -> int:
    """Write a log of about ``n_events`` events to ``path`` in global time order, holding only
    one chunk or one month of it in memory; return the number of events written.

    Chunk ``k`` simulates its own cases (ids continue from the previous chunk, seed
    ``[seed, k]``) and is cut into months on disk; then each month is read back, sorted by
    (timestamp, case id) like :func:`generate` and appended. Same output on every run.
    """
    import shutil

    import pyarrow.parquet as pq

    parts = path.with_name(path.name + ".parts")
    shutil.rmtree(parts, ignore_errors=True)
    first_case = 0
    for k in range(-(-n_events // chunk)):
        df = generate(
            min(chunk, n_events - k * chunk), seed=[seed, k], first_case=first_case, variety=variety
        )
        first_case += int(df["case_id"].n_unique())
        month = df["timestamp"].dt.strftime("%Y%m")
        for (m,), piece in df.with_columns(month=month).partition_by("month", as_dict=True).items():
            (parts / str(m)).mkdir(parents=True, exist_ok=True)
            piece.drop("month").write_parquet(parts / str(m) / f"{k:05d}.parquet")
        del df
    written = 0
    writer = None
    try:
        for folder in sorted(parts.iterdir()):
            files = sorted(folder.glob("*.parquet"))
            month_df = pl.read_parquet(files).sort("timestamp", "case_id")
            table = month_df.to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema, compression="zstd")
            writer.write_table(table, row_group_size=1_000_000)
            written += month_df.height
    finally:
        if writer is not None:
            writer.close()
        shutil.rmtree(parts, ignore_errors=True)
    return written


def main(argv: list[str]) -> None:
    n = int(float(argv[1]))
    out = Path(argv[2])
    variety = argv[3] if len(argv) > 3 else "markov"
    out.parent.mkdir(parents=True, exist_ok=True)
    if n > 20_000_000 and out.suffix == ".parquet":
        print(f"{out}: {write_big_parquet(n, out, variety=variety)} events")
        return
    df = generate(n, variety=variety)
    if out.suffix == ".csv":
        df.write_csv(out)
    else:
        df.write_parquet(out)
    print(f"{out}: {df.height} events, {df['case_id'].n_unique()} cases")


if __name__ == "__main__":
    main(sys.argv)


def _xml_escape(col: pl.Expr) -> pl.Expr:
    return (
        col.str.replace_all("&", "&amp;", literal=True)
        .str.replace_all("<", "&lt;", literal=True)
        .str.replace_all(">", "&gt;", literal=True)
        .str.replace_all('"', "&quot;", literal=True)
    )


def write_xes(df: pl.DataFrame, path: Path, *, gz: bool = False) -> None:
    """Write a canonical log (case_id, activity, timestamp, resource) as XES 1849-2016."""
    ts = pl.col("timestamp").dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.3f+00:00")
    ev = df.select(
        pl.col("case_id"),
        pl.format(
            '<event><string key="concept:name" value="{}"/><string key="org:resource" '
            'value="{}"/><date key="time:timestamp" value="{}"/></event>',
            _xml_escape(pl.col("activity")),
            _xml_escape(pl.col("resource").fill_null("")),
            ts,
        ).alias("line"),
    )
    traces = ev.group_by("case_id", maintain_order=True).agg(pl.col("line").str.join("\n"))
    body = traces.select(
        pl.format(
            '<trace><string key="concept:name" value="{}"/>\n{}\n</trace>',
            _xml_escape(pl.col("case_id")),
            pl.col("line"),
        )
    ).to_series()
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<log xes.version="1849-2016" '
        'xmlns="http://www.xes-standard.org/">\n'
    )
    import gzip

    opener = gzip.open if gz else open
    with opener(path, "wt", encoding="utf-8") as fh:
        fh.write(head)
        for chunk in body.to_list():
            fh.write(chunk)
            fh.write("\n")
        fh.write("</log>\n")
