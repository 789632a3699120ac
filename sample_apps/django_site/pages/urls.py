from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("whoami/", views.whoami, name="whoami"),
    path("notes/", views.notes, name="notes"),
    path("go/", views.go, name="go"),
    path("slow/", views.slow, name="slow"),
    path("boom/", views.boom, name="boom"),
]
