"""A CONTAINS page loads its first screen of tiles with the HTML and the rest lazily: a lazy image waits for
layout (after the page's load event), which kept the first screen blank for a while on every HIT."""

import re

import pytest

from annotation.hit_pages import FIRST_SCREEN_TILES
from tests.factories import LabelClassFactory
from tests.hitdata import contains_hit, images

pytestmark = pytest.mark.django_db


def test_it_loads_the_first_screen_of_tiles_eagerly_and_the_rest_lazily(client):
    hit = contains_hit(LabelClassFactory(), images(FIRST_SCREEN_TILES + 5))
    html = client.get(f"/hit/{hit.pk}/").content.decode()
    loading = re.findall(r'<img src="[^"]*" data-full="[^"]*" alt="" loading="(\w+)"', html)
    assert loading == ["eager"] * FIRST_SCREEN_TILES + ["lazy"] * 5
