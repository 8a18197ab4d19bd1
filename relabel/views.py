from django.contrib.auth.views import LoginView
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from annotation.models import Dataset


def home(request: HttpRequest) -> HttpResponse:
    """Landing page: what Relabel is and where to go next; staff also see the datasets and their sizes."""
    datasets = None
    if request.user.is_staff:
        datasets = Dataset.objects.order_by("name").annotate(image_count=Count("images"))
    return render(request, "home.html", {"datasets": datasets})


class RoleLoginView(LoginView):
    """Django's login; without a `next`, staff land on the dashboard and annotators on their next HIT."""

    def get_default_redirect_url(self) -> str:
        if self.request.user.is_staff:
            return reverse("analytics:index")
        return reverse("annotation:annotate")
