"""media_url() is default_storage.url(): the same address for every name, whatever MEDIA_URL says."""

import pytest
from django.core.files.storage import default_storage

from annotation.media import media_url

NAMES = [
    "thumbnails/3/ab/abcdef0123.jpg",
    "images/a_b-c.d.PNG",
    "x",
    "dir/../escape.jpg",
    "./here.jpg",
    "/rooted/name.jpg",
    "with space/é.jpg",
    "odd?query#frag.jpg",
    "http:/looks-like-a-scheme.jpg",
    "back\\slash.jpg",
]


@pytest.mark.parametrize("media_prefix", ["/media/", "/media", "https://cdn.example.org/files/"])
def test_it_gives_the_storages_url_for_every_name(settings, media_prefix):
    settings.MEDIA_URL = media_prefix
    for name in NAMES:
        assert media_url(name) == default_storage.url(name), name
