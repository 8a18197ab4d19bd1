import pytest

from tests.factories import UserFactory


@pytest.fixture
def staff_client(client):
    """A researcher logged in to the dashboard."""
    client.force_login(UserFactory(username="staff", is_staff=True))
    return client
