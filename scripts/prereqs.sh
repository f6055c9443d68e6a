#!/usr/bin/env bash
# Say what `make test` needs that this machine lacks, and how to get it; exit 1 if anything is missing.
#   scripts/prereqs.sh [sqlite|postgres|all]   (default all: what `make test` runs)
# The browser tests drive Debian's chromium (SERVICELOOP_CHROMIUM overrides the path); the
# PostgreSQL run starts a server on loopback from the installed binaries (scripts/postgres.sh).
set -uo pipefail
scope=${1:-all}
missing=() hints=()

need() {  # need <what> <how to get it>
    missing+=("$1")
    hints+=("$2")
}

python=${PYTHON:-python3}
if ! command -v "$python" >/dev/null 2>&1; then
    need "Python 3.11 ($python)" "apt-get install python3 python3-venv (or set PYTHON=/path/to/python3.11)"
elif ! "$python" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    need "Python >= 3.11 with venv ($python)" "apt-get install python3 python3-venv (or set PYTHON=/path/to/python3.11)"
fi
if ! command -v npm >/dev/null 2>&1 && [ ! -f src/serviceloop/static/vendor/.installed ]; then
    need "npm (installs htmx, ECharts and viz.js into static/vendor)" "apt-get install npm"
fi
chromium=${SERVICELOOP_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
    need "chromium at $chromium (the browser tests)" \
        "apt-get install chromium (or set SERVICELOOP_CHROMIUM=/path/to/chromium)"
fi
if [ "$scope" != sqlite ]; then
    if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
        need "PostgreSQL server binaries under /usr/lib/postgresql (the PostgreSQL run)" \
            "apt-get install postgresql (or run 'make test-sqlite' for SQLite only)"
    fi
fi

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "make test: this machine lacks what the test suite needs:" >&2
for i in "${!missing[@]}"; do
    echo "  - ${missing[$i]}" >&2
    echo "      get it: ${hints[$i]}" >&2
done
echo "  (.ci/run installs all of them on Debian/Ubuntu, then runs 'make test'.)" >&2
exit 1
