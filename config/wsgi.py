import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Import every view now, then take what is loaded (about 130,000 objects: Django, the apps,
# their modules) out of the cyclic garbage collector's sight. A full collection otherwise walks
# all of it, some 70 ms during which the process answers nothing, at random moments under
# load; that pause was the slowest 1 % of webhook answers. Objects made by requests are
# collected as before.
get_resolver().url_patterns  # noqa: B018 - the import is the point
gc.freeze()
