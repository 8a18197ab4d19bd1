import pytest
from django.db import transaction

from tests.requirements import require_postgres
from tests.security.live import LiveSite
from tests.security.world import World, build_world


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> World:
    """One attacked site per test module (building it takes seconds); rolled back afterwards."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


@pytest.fixture(scope="session")
def live_site(tmp_path_factory) -> LiveSite:
    """One deployment-like server for the whole session (PostgreSQL is required: CI=true fails without it).

    Tests share it, so each one makes its own dataset, batch and workers with names of its own.
    """
    require_postgres()
    site = LiveSite(tmp_path_factory.mktemp("live-site"))
    try:
        site.start()
        yield site
    finally:
        site.stop()
