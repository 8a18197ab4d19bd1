"""Publishing to the offline MTurk simulator while it is not running says how to start it."""

import socket

import pytest

from tasks import mturk


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_it_says_to_start_the_simulator(settings):
    settings.MTURK_ENDPOINT_URL = f"http://127.0.0.1:{_closed_port()}"
    settings.MTURK_MAX_ATTEMPTS = 1
    with pytest.raises(mturk.MTurkError, match=r"start it first: python manage.py mturk_sim --port \d+"):
        mturk.get_balance(mturk.make_client("simulator"))
