import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# After the application is loaded: it is what the collector's full passes should not walk.
from config import gcfreeze  # noqa: E402

gcfreeze.install()
