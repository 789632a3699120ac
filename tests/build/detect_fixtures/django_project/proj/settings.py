SECRET_KEY = "detect-fixture-only"
INSTALLED_APPS = ["django.contrib.contenttypes"]
ROOT_URLCONF = "proj.urls"
WSGI_APPLICATION = "proj.wsgi.application"
