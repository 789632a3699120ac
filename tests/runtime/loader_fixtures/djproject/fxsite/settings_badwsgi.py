SECRET_KEY = "fixture-only-not-a-secret"
INSTALLED_APPS = []
ROOT_URLCONF = "fxsite.urls"
WSGI_APPLICATION = "fxsite.nosuch.application"
