import pytest
from django.conf import settings


@pytest.fixture(autouse=True)
def _media_in_tmp(tmp_path, settings_override=None):
    """Every test writes uploaded files under its own temporary MEDIA_ROOT."""
    original = settings.MEDIA_ROOT
    settings.MEDIA_ROOT = tmp_path / "media"
    yield
    settings.MEDIA_ROOT = original
