import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fxsite.settings")

application = get_wsgi_application()
# Lets the test tell this object from the loader's get_wsgi_application() fallback.
application.fixture_source = "fxsite/wsgi.py"
