"""WSGI entry point for gunicorn: Django, with stored images answered in front of it (annotation.media)."""

import os

from django.core.wsgi import get_wsgi_application

from annotation.media import MediaFiles

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relabel.settings")
application = MediaFiles(get_wsgi_application())
