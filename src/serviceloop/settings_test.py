"""Settings of the test suite: the project's own, plus a throw-away secret key and plain HTTP.

Production refuses to start without ``SERVICELOOP_SECRET_KEY`` and redirects plain HTTP to HTTPS;
the test client and live server speak plain HTTP. Set through the environment (not over the
settings) so the commands the tests start as subprocesses get the same. ``tests/core/test_deploy.py``
checks the production defaults themselves.
"""

import os

os.environ.setdefault("SERVICELOOP_SECRET_KEY", "tests-only-" + "k" * 50)
os.environ.setdefault("SERVICELOOP_HTTPS", "0")

from serviceloop.settings import *  # noqa: F403
