"""Settings without WSGI_APPLICATION: the loader falls back to get_wsgi_application()."""

SECRET_KEY = "fixture-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
INSTALLED_APPS = []
MIDDLEWARE = []
ROOT_URLCONF = "fxsite.urls"
