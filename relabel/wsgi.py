"""WSGI entry point for gunicorn: Django, with stored images answered in front of it (annotation.media)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relabel.settings")

from django.core.wsgi import get_wsgi_application
from django.template.loader import get_template
from django.urls import get_resolver

from annotation.media import MediaFiles

HIT_TEMPLATES = ("annotation/hit_contains.html", "annotation/hit_classify.html", "label1000/hit.html")


def warm_up() -> None:
    """Import every view and compile the HIT pages now, not in an annotator's first request.

    With gunicorn's preload_app (relabel/gunicorn_conf.py) this runs once, before the workers fork.
    """
    get_resolver().url_patterns  # noqa: B018 - imports the URLconf and with it every view
    for name in HIT_TEMPLATES:
        get_template(name)


application = MediaFiles(get_wsgi_application())
warm_up()
