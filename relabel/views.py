from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from annotation.models import Dataset


def home(request: HttpRequest) -> HttpResponse:
    """Landing page: what Relabel is and where to go next."""
    datasets = Dataset.objects.order_by("name")
    return render(request, "home.html", {"datasets": datasets})
