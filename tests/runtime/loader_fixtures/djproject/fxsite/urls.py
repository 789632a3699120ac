from django.conf import settings
from django.http import HttpResponse
from django.urls import path


def hello(request):
    return HttpResponse(f"hello from {settings.SETTINGS_MODULE}", content_type="text/plain")


urlpatterns = [path("", hello)]
