"""The demo operation: a believable service desk replayed through the real services.

Not a Django app (no models): generator modules used by ``serviceloop demo`` and the tests.
"""

from serviceloop.demo.errors import DemoError
from serviceloop.demo.loader import DemoResult, demo_is_loaded, demo_load

__all__ = ["DemoError", "DemoResult", "demo_is_loaded", "demo_load"]
