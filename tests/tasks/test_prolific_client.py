"""tasks/prolific.py: the token, retries on 429 honouring Retry-After, non-idempotent calls sent once, errors."""

import pytest

from tasks import prolific as api
from tests.prolific_sim import sim

pytestmark = pytest.mark.django_db
SECRET = "tok-5e3cr3t-value"


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def client_(prolific, waits, settings):
    client = api.make_client(prolific, token="test")
    return api.Client(client.session, client.base_url, max_attempts=4, timeout=5, sleep=waits.append)


def test_it_reads_the_token_from_a_file_first(monkeypatch, tmp_path):
    (tmp_path / "token").write_text(f"{SECRET}\n")
    monkeypatch.setenv("PROLIFIC_API_TOKEN", "other")
    monkeypatch.setenv("PROLIFIC_API_TOKEN_FILE", str(tmp_path / "token"))
    assert api.make_client("https://api.example").session.headers["Authorization"] == f"Token {SECRET}"


def test_it_says_how_to_set_a_missing_token(monkeypatch):
    monkeypatch.delenv("PROLIFIC_API_TOKEN", raising=False)
    monkeypatch.delenv("PROLIFIC_API_TOKEN_FILE", raising=False)
    with pytest.raises(api.ProlificError, match="set PROLIFIC_API_TOKEN"):
        api.make_client()


def test_errors_never_show_the_token(prolific, waits):
    client = api.make_client(prolific, token=SECRET)
    with pytest.raises(api.ProlificError) as caught:
        api.get_study(client, "0" * 24)
    assert caught.value.status == 404 and SECRET not in str(caught.value)
    assert "does not know this id" in str(caught.value)


def test_it_rides_out_a_429_storm_honouring_retry_after(prolific, client_, waits):
    sim(f"{prolific}/_sim/faults", {"throttle": 3})
    assert list(api.iter_pages(client_, "/api/v1/studies/")) == []
    assert waits == [0.0, 0.0, 0.0]  # the simulator says Retry-After: 0


def test_it_gives_up_after_max_attempts_with_advice(prolific, client_, waits):
    sim(f"{prolific}/_sim/faults", {"throttle": 10})
    with pytest.raises(api.ProlificError, match="kept throttling") as caught:
        api.get_study(client_, "0" * 24)
    assert caught.value.status == 429 and len(waits) == 3


def test_a_lost_reply_is_retried_for_reads_but_never_for_create(prolific, client_):
    sim(f"{prolific}/_sim/faults", {"drop": 1, "drop_path": "/api/v1/studies/"})
    assert list(api.iter_pages(client_, "/api/v1/studies/")) == []
    sim(f"{prolific}/_sim/faults", {"drop": 1, "drop_path": "/api/v1/studies/"})
    body = {"name": "n", "internal_name": "mine", "description": "d", "external_study_url": "https://x.example/",
            "prolific_id_option": "url_parameters", "total_available_places": 1, "estimated_completion_time": 1,
            "reward": 10, "completion_codes": [{"code": "C", "code_type": "COMPLETED", "actions": []}]}
    with pytest.raises(api.ProlificError, match="may have been done") as caught:
        api.create_study(client_, body)
    assert caught.value.sent
    assert [s["internal_name"] for s in api.iter_pages(client_, "/api/v1/studies/")] == ["mine"]  # sent once


def test_it_refuses_a_short_rejection_message_before_calling(client_):
    with pytest.raises(api.ProlificError, match="at least 100 characters"):
        api.reject_submission(client_, "0" * 24, "too short", "LOW_EFFORT")
    with pytest.raises(api.ProlificError, match="not Prolific's"):
        api.reject_submission(client_, "0" * 24, "x" * 100, "BAD_MOOD")

