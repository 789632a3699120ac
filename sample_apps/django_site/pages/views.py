import math
import time

from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from .forms import NoteForm
from .models import Note

MAX_SLEEP_SECONDS = 30.0


@require_GET
def home(request):
    return render(request, "pages/home.html", {"note_count": Note.objects.count()})


@require_GET
def whoami(request):
    # Deliberately dumps every request header: tests use it to prove that
    # credential headers were stripped before the request reached the app.
    return JsonResponse(
        {
            "script_name": request.META.get("SCRIPT_NAME", ""),
            "path": request.path,
            "path_info": request.path_info,
            "url": request.build_absolute_uri(),
            "reverse_notes": reverse("notes"),
            "request_id": request.META.get("fc.request_id"),
            "headers": dict(request.headers),
        }
    )


@require_http_methods(["GET", "POST"])
def notes(request):
    if request.method == "POST":
        form = NoteForm(request.POST)
        if form.is_valid():
            form.save()
            return redirect("notes")
        status = 400
    else:
        form = NoteForm()
        status = 200
    context = {"form": form, "notes": Note.objects.all()[:100]}
    return render(request, "pages/notes.html", context, status=status)


@require_GET
def go(request):
    return redirect("home")


@require_GET
def slow(request):
    try:
        seconds = float(request.GET.get("s", "2"))
    except ValueError:
        return HttpResponseBadRequest("s must be a number")
    if math.isnan(seconds):
        return HttpResponseBadRequest("s must be a number")
    time.sleep(min(max(seconds, 0.0), MAX_SLEEP_SECONDS))
    return HttpResponse("done", content_type="text/plain; charset=utf-8")


@require_GET
def boom(request):
    raise RuntimeError("boom: deliberate failure from the sample site")
