"""The WSGI application for gunicorn and other servers.

Everything loaded at start-up (Django, the URL conf, the API's schemas: a few hundred thousand
objects) lives as long as the process, yet the cycle collector would walk all of it again on
every full collection: a 50-85 ms pause of the worker, a few times a minute under load, felt by
every request it holds. ``gc.freeze`` moves those objects out of the collector's sight once they
are loaded, so later collections only walk what requests create.
"""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "serviceloop.settings")
application = get_wsgi_application()
get_resolver().url_patterns  # noqa: B018 -- import every view and API schema now, not on a request
gc.collect()
gc.freeze()
