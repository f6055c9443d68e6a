"""What a fresh server process loads before its first request: the URL configuration imports every
app's views and the API's routers, so a library imported at the top of one of them is paid by
every worker at start. These libraries are loaded only by the requests that use them."""

import os
import subprocess
import sys

# Loaded by the URL configuration before; each is imported where it is used now.
LOADED_ON_USE = (
    "openpyxl",  # the evaluation's Excel export
    "serviceloop.cases.export",  # the event-log writers (Polars, pyarrow): GET /api/events/export
)


def _modules_after(code: str, data_dir: str) -> set[str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "serviceloop.settings",
        "SERVICELOOP_SECRET_KEY": "start-up-test",
        "SERVICELOOP_HTTPS": "0",
        "SERVICELOOP_DATA_DIR": data_dir,
    }
    script = (
        "import sys, django; django.setup(); "
        + code
        + f"; print(' '.join(m for m in {LOADED_ON_USE!r} if m in sys.modules))"
    )
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env
    )
    return set(out.stdout.split())


def test_loading_the_urls_and_reversing_one_loads_no_export_library(tmp_path):
    # reverse() builds the whole resolver, as the first page's {% url %} tags do.
    code = "import serviceloop.urls; from django.urls import reverse; reverse('api:openapi-json')"
    assert _modules_after(code, str(tmp_path)) == set()


def test_the_check_sees_them_when_they_are_loaded(tmp_path):
    # The same probe reports each one once something imports it: the test above can fail.
    code = (
        "import serviceloop.urls, serviceloop.evaluation.export, openpyxl, serviceloop.cases.export"
    )
    assert _modules_after(code, str(tmp_path)) == set(LOADED_ON_USE)
