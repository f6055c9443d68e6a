"""Log readers refuse bombs before loading them, with memory bounded (measured in a subprocess).

Each bomb is small on disk and huge once loaded: a Parquet file declaring 50M rows, a CSV with a
million columns, an .xes.gz expanding a thousandfold. Each read runs in a fresh interpreter whose
peak resident memory is read back; no test asserts on wall-clock time.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import zlib
from pathlib import Path

import polars as pl
import pytest

from serviceloop.analytics import (
    InvalidParameterError,
    LogFormatError,
    ReadLimits,
    TimestampParseError,
    read_csv,
    read_parquet,
    read_xes,
)
from serviceloop.analytics._limits import _parquet_footer

MIB = 1 << 20
RSS_LIMIT_MIB = 500

XES_HEAD = b'<?xml version="1.0" encoding="UTF-8"?>\n'
XES_BODY = (
    b'<log xes.version="1849-2016" xmlns="http://www.xes-standard.org/">\n'
    b'<trace><string key="concept:name" value="c1"/>\n'
    b'<event><string key="concept:name" value="a"/>'
    b'<date key="time:timestamp" value="2024-01-01T00:00:00.000+00:00"/></event>\n'
    b'<event><string key="concept:name" value="b"/>'
    b'<date key="time:timestamp" value="2024-01-01T01:00:00.000+00:00"/></event>\n'
    b"</trace>\n</log>\n"
)
DTD = b'<!DOCTYPE log [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'


def _read_in_subprocess(reader: str, path: Path, **kwargs) -> dict:
    """Run ``reader(path, **kwargs)`` in a fresh interpreter: its error and peak RSS (MiB)."""
    code = (
        "import json, sys\n"
        "from serviceloop import analytics\n"
        f"kwargs = json.loads({json.dumps(json.dumps(kwargs))})\n"
        "try:\n"
        f"    analytics.{reader}(sys.argv[1], **kwargs)\n"
        "    error = None\n"
        "except analytics.AnalyticsError as exc:\n"
        "    error = f'{type(exc).__name__}: {exc}'\n"
        # VmHWM: this program's own peak (ru_maxrss would carry the forking parent's).
        "status = open('/proc/self/status').read().split('VmHWM:')[1].split()[0]\n"
        "rss = int(status) / 1024\n"
        "print(json.dumps({'error': error, 'rss_mib': rss}))\n"
    )
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def parquet_bomb(tmp_path_factory) -> Path:
    """About 500 KB on disk, 50,000,000 rows declared: constant columns compress to nothing."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path_factory.mktemp("bombs") / "bomb.parquet"
    n = 1_000_000
    table = pa.table(
        {
            "case_id": pa.DictionaryArray.from_arrays(np.zeros(n, np.int32), ["c1"]),
            "activity": pa.DictionaryArray.from_arrays(np.zeros(n, np.int32), ["a"]),
            "timestamp": pa.array(np.zeros(n, np.int64)),
        }
    )
    with pq.ParquetWriter(path, table.schema, compression="zstd") as writer:
        for _ in range(50):
            writer.write_table(table, row_group_size=n)
    return path


def test_parquet_declaring_50m_rows_is_refused_from_its_footer(parquet_bomb):
    assert parquet_bomb.stat().st_size < 1 * MIB
    assert _parquet_footer(parquet_bomb)[3] == 50_000_000
    found = _read_in_subprocess("read_parquet", parquet_bomb)
    assert found["error"].startswith("LogFormatError: ")
    assert "declares 50,000,000 rows" in found["error"]
    assert "max_events" in found["error"]
    assert found["rss_mib"] < RSS_LIMIT_MIB


def test_raising_the_row_limit_lets_the_next_check_speak(parquet_bomb):
    with pytest.raises(LogFormatError, match="max_bytes"):
        read_parquet(parquet_bomb, limits=ReadLimits(max_events=60_000_000, max_bytes=1000))


def test_a_broken_parquet_footer_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1" + b"\x00" * 100 + (10**9).to_bytes(4, "little") + b"PAR1")
    with pytest.raises(LogFormatError, match="not a readable Parquet file"):
        read_parquet(bad)


@pytest.fixture(scope="module")
def csv_million_columns(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bombs") / "wide.csv"
    with path.open("w", encoding="utf-8") as fh:
        fh.write(",".join(f"c{i}" for i in range(1_000_000)) + "\n")
        fh.write(",".join("1" for _ in range(1_000_000)) + "\n")
    return path


def test_csv_with_a_million_columns_is_refused_from_its_header(csv_million_columns):
    found = _read_in_subprocess("read_csv", csv_million_columns)
    assert found["error"].startswith("LogFormatError: ")
    assert "columns, over the limit of 10,000 (max_columns)" in found["error"]
    assert found["rss_mib"] < RSS_LIMIT_MIB


def test_csv_with_a_huge_field_names_the_row(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text(
        "case_id,activity,timestamp\n1,a,2024-01-01\n1," + "b" * (2 * MIB) + ",2024-01-02\n",
        encoding="utf-8",
    )
    with pytest.raises(LogFormatError, match=r"row 3 is longer than 1,048,576 bytes"):
        read_csv(path)
    log = read_csv(path, limits=ReadLimits(max_field_bytes=4 * MIB))
    assert log.n_events == 2


def test_csv_gz_expanding_too_far_is_refused(tmp_path):
    path = tmp_path / "log.csv.gz"
    with gzip.open(path, "wb", compresslevel=9) as fh:
        fh.write(b"case_id,activity,timestamp\n")
        row = b"1,a,2024-01-01 00:00:00\n"
        for _ in range(200):
            fh.write(row * 10_000)
    with pytest.raises(LogFormatError, match="expands over 200 times"):
        read_csv(path, duplicates="keep")


@pytest.fixture(scope="module")
def xes_gz_bomb(tmp_path_factory) -> Path:
    """About 1 MB of gzip holding 1 GB of XML (whitespace inside <log>)."""
    path = tmp_path_factory.mktemp("bombs") / "bomb.xes.gz"
    block = b" " * (16 * MIB)
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip container
    with path.open("wb") as fh:
        fh.write(packer.compress(XES_HEAD + XES_BODY[: XES_BODY.index(b"\n") + 1]))
        for _ in range(64):  # 64 x 16 MiB = 1 GiB
            fh.write(packer.compress(block))
        fh.write(packer.compress(b"</log>\n"))
        fh.write(packer.flush())
    return path


def test_xes_gz_expanding_to_a_gigabyte_is_refused_streaming(xes_gz_bomb):
    assert xes_gz_bomb.stat().st_size < 2 * MIB
    found = _read_in_subprocess("read_xes", xes_gz_bomb)
    assert found["error"].startswith("LogFormatError: ")
    assert "expands over 200 times" in found["error"]
    assert found["rss_mib"] < RSS_LIMIT_MIB


@pytest.mark.parametrize(
    ("prolog", "message"),
    [
        (DTD, "unsafe XML"),
        (b"<!-- <log> -->\n" + DTD, "unsafe XML"),  # a comment that looks like the root
        (b"<?pi <log> ?>\n" + DTD, "unsafe XML"),  # so does a processing instruction
        (b" " * (2 * MIB) + DTD, "prolog"),  # padding past any fixed window
        (b"<!--" + b"x" * (2 * MIB) + b"-->\n" + DTD, "prolog"),  # a long comment
        (b"<!-- a -- b -->\n<!doctype log>\n", "unsafe XML"),
        (b"junk\n", "text before the <log> element"),
        (b"<html>\n", "root element is not <log>"),
    ],
)
def test_the_xes_prolog_is_parsed_so_no_dtd_hides(tmp_path, prolog, message):
    for name, opener in (("log.xes", open), ("log.xes.gz", gzip.open)):
        path = tmp_path / name
        with opener(path, "wb") as fh:
            fh.write(XES_HEAD + prolog + XES_BODY)
        with pytest.raises(LogFormatError, match=message):
            read_xes(path)


def test_an_xes_with_comments_and_instructions_before_log_is_read(tmp_path):
    path = tmp_path / "ok.xes"
    path.write_bytes(b"\xef\xbb\xbf" + XES_HEAD + b"<!-- exported -->\n<?app x?>\n" + XES_BODY)
    log = read_xes(path)
    assert (log.n_events, log.n_cases) == (2, 1)


def test_a_bad_timestamp_names_its_own_row_and_value(tmp_path):
    rows = [f"c{i},a,2024-01-{i + 1:02d} 10:00" for i in range(20)]
    rows[6] = "c6,a,2024-13-45 10:00"  # data row 7 is file row 8 (the header is row 1)
    path = tmp_path / "ts.csv"
    path.write_text("case_id,activity,timestamp\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(TimestampParseError) as err:
        read_csv(path)
    assert (err.value.row, err.value.value) == (8, "2024-13-45 10:00")
    frame = pl.DataFrame({"case_id": ["x", "y"], "activity": ["a", "a"], "timestamp": ["?", "no"]})
    with pytest.raises(TimestampParseError) as err:
        read_parquet(_write(tmp_path / "all_bad.parquet", frame))
    assert (err.value.row, err.value.value) == (1, "?")


def _write(path: Path, frame: pl.DataFrame) -> Path:
    frame.write_parquet(path)
    return path


def test_limits_are_checked_and_parsed():
    assert ReadLimits.parse(["max_events=5e7", "max-columns = 20"]) == ReadLimits(
        max_events=50_000_000, max_columns=20
    )
    with pytest.raises(InvalidParameterError, match=r"unknown limit.*max_rows"):
        ReadLimits.parse(["max_rows=1"])
    with pytest.raises(InvalidParameterError, match="NAME=VALUE"):
        ReadLimits.parse(["max_events"])
    with pytest.raises(InvalidParameterError, match="positive integer"):
        ReadLimits(max_columns=0)
    with pytest.raises(InvalidParameterError, match="whole number"):
        ReadLimits().with_options(max_events="1.5")


def test_a_plain_xes_bigger_than_the_limit_is_refused(tmp_path):
    path = tmp_path / "big.xes"
    path.write_bytes(XES_HEAD + XES_BODY)
    with pytest.raises(LogFormatError, match="holds over 100 bytes"):
        read_xes(path, limits=ReadLimits(max_bytes=100))
    assert read_xes(path).n_events == 2
