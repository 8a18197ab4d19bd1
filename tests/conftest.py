import pytest


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Every test writes its files under its own temporary MEDIA_ROOT."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Every test starts with an empty cache: start counters (tasks.starts) never leak between tests."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
