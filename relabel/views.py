from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from annotation.models import Dataset


def home(request: HttpRequest) -> HttpResponse:
    """Landing page: what Relabel is and where to go next; staff also see the datasets and their sizes."""
    datasets = None
    if request.user.is_staff:
        datasets = Dataset.objects.order_by("name").annotate(image_count=Count("images"))
    return render(request, "home.html", {"datasets": datasets})
