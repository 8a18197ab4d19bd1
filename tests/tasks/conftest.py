"""Fixtures for the Prolific tests: a running simulator and a batch published on it."""

import pytest

from tasks.providers import get_provider
from tasks.services import publish_batch
from tests.mturk_sim import make_batch
from tests.prolific_sim import running_prolific


@pytest.fixture
def prolific(settings, tmp_path):
    """The simulator's base URL, with Relabel's settings pointing at it."""
    with running_prolific(tmp_path / "prolific.json", settings) as url:
        yield url


@pytest.fixture
def provider(prolific):
    return get_provider("prolific-sim")


@pytest.fixture
def published(provider):
    """A batch of 4 HITs, 2 assignments each, on the simulator, sessions of 2 HITs."""
    batch = make_batch(hits=4, assignments=2, options={"hits_per_session": 2})
    publish_batch(batch, provider)
    return batch
