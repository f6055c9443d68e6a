"""How fast can the event log leave PostgreSQL in columns? Four ways, same statement, same rows.

    DATABASE_URL=postgres://.../sl_scale python benchmarks/read_columns.py [--limit N]

- ``rows``: the driver's cursor, ``fetchmany`` and a Python object per value (what Insights did);
- ``copy``: ``COPY (SELECT ...) TO STDOUT (FORMAT csv)`` through psycopg, parsed by Polars;
- ``adbc``: the ADBC PostgreSQL driver (binary COPY in C++, Arrow out);
- ``connectorx``: connectorx (Rust, Arrow out).

The statement is the one ``serviceloop.cases.eventlog.read_events`` runs for every event.
Prints seconds, rows per second and the growth of the process's peak memory for each.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import time
from collections.abc import Callable
from typing import Any


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="read only the first N events")
    parser.add_argument("--ways", default="rows,copy,adbc,connectorx")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "serviceloop.settings")
    import django

    django.setup()
    import polars as pl
    from django.db import connection

    from serviceloop.cases import eventlog

    queryset = eventlog._events_queryset(
        kinds=None,
        case_lookups=None,
        case_range=None,
        window=(None, None),
        window_exempt=(),
        after_id=None,
    )
    if args.limit:
        queryset = queryset.filter(id__lte=args.limit)
    sql, params = queryset.query.sql_with_params()
    inline = connection.ops.compose_sql(sql, params)
    schema = dict(eventlog.RAW_SCHEMA)
    schema["timestamp"] = pl.String

    def rows() -> int:
        count = 0
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            while batch := cursor.fetchmany(20_000):
                pl.DataFrame(
                    batch, schema=schema | {"timestamp": pl.Datetime("us", "UTC")}, orient="row"
                )
                count += len(batch)
        return count

    def copy() -> int:
        return eventlog._copy_frame(sql, params, schema).height

    def adbc() -> int:
        return eventlog._adbc_frame(inline, schema).height

    def connectorx() -> int:
        import connectorx as cx

        return cx.read_sql(eventlog._database_uri(), inline, return_type="arrow").num_rows

    ways: dict[str, Callable[[], int]] = {
        "rows": rows,
        "copy": copy,
        "adbc": adbc,
        "connectorx": connectorx,
    }
    print(f"{'way':12s} {'rows':>12s} {'seconds':>9s} {'rows/s':>12s} {'peak +MB':>9s}")
    for name in args.ways.split(","):
        gc.collect()
        before = _peak_mb()
        began = time.perf_counter()
        result: Any = ways[name]()
        elapsed = time.perf_counter() - began
        print(
            f"{name:12s} {result:12,d} {elapsed:9.2f} {result / elapsed:12,.0f} "
            f"{_peak_mb() - before:9.0f}"
        )


if __name__ == "__main__":
    main()
