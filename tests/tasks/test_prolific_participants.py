"""Prolific participants: landing URL → HITs one after another → completion URL; forged, foreign, returned sessions."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from tasks.models import Assignment, ProlificSession, Worker
from tasks.providers import get_provider
from tasks.services import publish_batch, sync_batch
from tasks.transitions import transition
from tests.mturk_sim import make_batch
from tests.prolific_sim import join, participant, sim

pytestmark = pytest.mark.django_db


def study_id(batch) -> str:
    return batch.prolific_study.study_id


def submit_current(client, landing: str) -> Assignment:
    """Open the landing URL, store an answer for the HIT it gives (as the HIT page's submit does)."""
    response = client.get(landing)
    assert response.status_code == 302, response.content
    params = {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}
    assignment = Assignment.objects.get(provider_assignment_id=params["assignmentId"])
    return transition(assignment, Assignment.Status.SUBMITTED)


def test_it_gives_the_sessions_hits_one_after_another_then_sends_to_prolific(client, prolific, published):
    landing, session = join(prolific, study_id(published), participant("ada"))
    first = submit_current(client, landing)
    second = submit_current(client, landing)
    assert first.hit_id != second.hit_id
    assert {first.confirmation, second.confirmation} == {Assignment.Confirmation.UNCONFIRMED}
    done = client.get(landing)
    code = published.prolific_study.completion_code
    assert done["Location"] == f"{prolific}/_sim/complete?cc={code}&session={session}"
    assert sim(done["Location"], method="GET")[0] == 200
    assert sim(f"{prolific}/api/v1/submissions/{session}/")[1]["status"] == "AWAITING REVIEW"


def test_it_resumes_the_same_hit_when_the_link_is_opened_twice_or_in_two_tabs(client, prolific, published):
    landing, _ = join(prolific, study_id(published), participant("bea"))
    first = client.get(landing)["Location"]
    assert client.get(landing)["Location"] == first
    assert Client().get(landing)["Location"] == first  # another tab, no cookies
    assert Assignment.objects.filter(worker__external_id=participant("bea")).count() == 1


def test_the_hit_page_shows_the_sessions_hit_and_refuses_anything_else(client, prolific, published):
    landing, _ = join(prolific, study_id(published), participant("cyd"))
    page = client.get(client.get(landing)["Location"])
    assert page.status_code == 200
    other = published.hits.order_by("-pk").first()
    forged = client.get(f"/hit/{other.pk}/", {"assignmentId": "f" * 24 + f"-{other.pk}",
                                               "workerId": participant("cyd")})
    assert forged.status_code == 403
    assert Assignment.objects.count() == 1


def test_it_never_gives_a_participant_two_assignments_of_one_hit(client, prolific):
    batch = make_batch(hits=2, assignments=3, options={"hits_per_session": 5})
    publish_batch(batch, get_provider("prolific-sim"))
    landing, _ = join(prolific, study_id(batch), participant("dan"))
    taken = [submit_current(client, landing).hit_id for _ in range(2)]
    assert sorted(taken) == sorted(batch.hits.values_list("pk", flat=True))
    assert "/_sim/complete" in client.get(landing)["Location"]  # nothing left for them: the session ends


@pytest.mark.parametrize("case", ["unknown session", "another participant's session", "another study"])
def test_it_refuses_forged_or_foreign_ids_and_stores_nothing(client, prolific, published, case):
    landing, _ = join(prolific, study_id(published), participant("eve"))
    params = {k: v[0] for k, v in parse_qs(urlsplit(landing).query).items()}
    if case == "unknown session":
        params["SESSION_ID"] = "0" * 24
    elif case == "another participant's session":
        params["PROLIFIC_PID"] = participant("mallory")
    else:
        params["STUDY_ID"] = "1" * 24
    response = client.get(urlsplit(landing).path, params)
    assert response.status_code == 403
    assert not Assignment.objects.exists() and not ProlificSession.objects.exists() and not Worker.objects.exists()


def test_it_refuses_a_stored_session_opened_with_another_participants_id(client, prolific, published):
    landing, session = join(prolific, study_id(published), participant("fay"))
    client.get(landing)
    stolen = client.get(urlsplit(landing).path, {"PROLIFIC_PID": participant("gus"), "STUDY_ID": study_id(published),
                                                  "SESSION_ID": session})
    assert stolen.status_code == 403
    assert Assignment.objects.count() == 1 and not Worker.objects.filter(external_id=participant("gus")).exists()


def test_it_refuses_malformed_ids(client, prolific, published):
    response = client.get(f"/prolific/{published.pk}/start/", {"PROLIFIC_PID": "<script>", "STUDY_ID": "x",
                                                               "SESSION_ID": "y"})
    assert response.status_code == 400 and not Worker.objects.exists()


def test_a_returned_session_frees_its_unfinished_hits_and_is_closed(client, prolific, published):
    landing, session = join(prolific, study_id(published), participant("hal"))
    client.get(landing)
    assignment = Assignment.objects.get(worker__external_id=participant("hal"))
    assert sim(f"{prolific}/_sim/submissions/{session}/return", {})[0] == 200
    sync_batch(published)
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.ABANDONED
    assert assignment.confirmation == Assignment.Confirmation.DISCARDED
    assert client.get(landing).status_code == 410
    landing_2, _ = join(prolific, study_id(published), participant("ida"))
    assert client.get(landing_2)["Location"].startswith(f"/hit/{assignment.hit_id}/")  # the freed HIT is taken


def test_a_timed_out_session_frees_its_hits(client, prolific, published):
    landing, _ = join(prolific, study_id(published), participant("jon"))
    client.get(landing)
    sim(f"{prolific}/_sim/clock", {"advance_seconds": 24 * 3600})
    sync_batch(published)
    assert Assignment.objects.get(worker__external_id=participant("jon")).status == Assignment.Status.ABANDONED


def test_when_prolific_cannot_answer_the_landing_page_says_try_again_and_stores_nothing(client, prolific, published):
    landing, _ = join(prolific, study_id(published), participant("kai"))
    sim(f"{prolific}/_sim/faults", {"throttle": 5})
    response = client.get(landing)
    assert response.status_code == 503 and b"try again" in response.content
    assert not ProlificSession.objects.exists() and not Worker.objects.exists()


def test_after_expire_a_started_session_may_finish_but_no_new_one_starts(client, prolific, provider, published):
    landing, _ = join(prolific, study_id(published), participant("lou"))
    hit_url = client.get(landing)["Location"]
    late, _ = join(prolific, study_id(published), participant("mia"))
    provider.expire(published)
    assert client.get(landing)["Location"] == hit_url
    assert client.get(late).status_code == 410
