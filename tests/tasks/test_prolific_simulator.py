"""The offline Prolific simulator: Prolific's request shapes, bounded bodies, state transitions, money, clock."""

import json
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest

from tests.prolific_sim import join, ledger, participant, sim

STUDY = {"name": "Find objects", "internal_name": "relabel-x", "description": "Click photos.",
         "external_study_url": "https://relabel.example/prolific/1/start/?PROLIFIC_PID={{%PROLIFIC_PID%}}"
                               "&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}",
         "prolific_id_option": "url_parameters", "total_available_places": 3, "estimated_completion_time": 5,
         "reward": 150, "completion_codes": [{"code": "DONE1", "code_type": "COMPLETED",
                                              "actions": [{"action": "MANUALLY_REVIEW"}]}]}


@pytest.fixture
def active_study(prolific) -> dict:
    status, study = sim(f"{prolific}/api/v1/studies/", STUDY)
    assert status == 201 and study["status"] == "UNPUBLISHED"
    assert sim(f"{prolific}/api/v1/studies/{study['id']}/transition/", {"action": "PUBLISH"})[1]["status"] == "ACTIVE"
    return study


def completed(prolific: str, study: dict, name: str) -> str:
    _, session = join(prolific, study["id"], participant(name))
    assert sim(f"{prolific}/_sim/complete?cc=DONE1&session={session}", method="GET")[0] == 200
    return session


@pytest.mark.parametrize(("change", "field"), [
    ({"reward": "1.50"}, "reward"),
    ({"completion_codes": []}, "completion_codes"),
    ({"prolific_id_option": "email"}, "prolific_id_option"),
    ({"device_compatibility": ["watch"]}, "device_compatibility.0"),
])
def test_it_validates_create_study_against_prolifics_shapes(prolific, change, field):
    status, body = sim(f"{prolific}/api/v1/studies/", {**STUDY, **change})
    assert status == 400 and body["error"]["detail"].startswith(f"{field}:")
    assert sim(f"{prolific}/api/v1/studies/")[1]["results"] == []


def test_it_needs_a_required_field(prolific):
    body = {key: value for key, value in STUDY.items() if key != "total_available_places"}
    status, answer = sim(f"{prolific}/api/v1/studies/", body)
    assert status == 400 and "total_available_places" in answer["error"]["detail"]


def test_it_refuses_requests_without_a_token(prolific):
    request = Request(f"{prolific}/api/v1/studies/")
    with pytest.raises(HTTPError) as caught:
        urlopen(request, timeout=5)
    assert caught.value.code == 401


@pytest.mark.parametrize("body", [b'{"x": "' + b"y" * 70_000 + b'"}', b"[" * 50 + b"]" * 50])
def test_it_bounds_json_bodies(prolific, body):
    request = Request(f"{prolific}/api/v1/studies/", data=body, method="POST",
                      headers={"Authorization": "Token t", "Content-Type": "application/json"})
    with pytest.raises(HTTPError) as caught:
        urlopen(request, timeout=5)
    assert caught.value.code == 400
    assert "error" in json.loads(caught.value.read())


def test_a_rejection_needs_a_category_and_100_characters(prolific, active_study):
    session = completed(prolific, active_study, "ann")
    url = f"{prolific}/api/v1/submissions/{session}/transition/"
    assert sim(url, {"action": "REJECT", "rejection_category": "LOW_EFFORT", "message": "short"})[0] == 400
    assert sim(url, {"action": "REJECT", "message": "m" * 100})[0] == 400
    assert sim(url, {"action": "REJECT", "rejection_category": "LOW_EFFORT", "message": "m" * 100})[0] == 200
    assert sim(url, {"action": "APPROVE"})[0] == 400  # already rejected


def test_paying_a_bulk_bonus_twice_pays_twice_as_prolific_does(prolific, active_study):
    completed(prolific, active_study, "bob")
    status, payment = sim(f"{prolific}/api/v1/submissions/bonus-payments/",
                          {"study_id": active_study["id"], "csv_bonuses": f"{participant('bob')},0.50\n"})
    assert status == 201 and payment["amount"] == 50 and payment["fees"] == 17
    for _ in range(2):
        assert sim(f"{prolific}/api/v1/bulk-bonus-payments/{payment['id']}/pay/", {})[0] == 202
    assert [(row["kind"], row["amount"]) for row in ledger(prolific)] == [("bonus", "0.50"), ("fee", "0.17")] * 2


def test_a_bonus_for_someone_outside_the_study_is_refused(prolific, active_study):
    status, body = sim(f"{prolific}/api/v1/submissions/bonus-payments/",
                       {"study_id": active_study["id"], "csv_bonuses": f"{participant('zed')},0.50\n"})
    assert status == 400 and "did not take part" in body["error"]["detail"]


def test_it_pages_submissions_and_auto_approves_after_21_days(prolific, active_study):
    sessions = [completed(prolific, active_study, name) for name in ("c1", "c2", "c3")]
    first = sim(f"{prolific}/api/v1/submissions/?study={active_study['id']}&page_size=2")[1]
    assert len(first["results"]) == 2 and first["meta"]["count"] == 3
    second = sim(first["_links"]["next"]["href"])[1]
    assert {s["id"] for s in first["results"] + second["results"]} == set(sessions)
    assert second["_links"]["next"]["href"] is None
    sim(f"{prolific}/_sim/clock", {"advance_seconds": 22 * 24 * 3600})
    statuses = {s["status"] for s in sim(f"{prolific}/api/v1/submissions/?study={active_study['id']}")[1]["results"]}
    assert statuses == {"APPROVED"} and [row["kind"] for row in ledger(prolific)] == ["reward", "fee"] * 3


def test_a_participant_takes_one_place_once_and_a_full_study_refuses(prolific, active_study):
    url = f"{prolific}/_sim/studies/{active_study['id']}/participants"
    assert sim(url, {"participant_id": participant("d1")})[0] == 200
    assert sim(url, {"participant_id": participant("d1")})[0] == 400
    for name in ("d2", "d3"):
        sim(url, {"participant_id": participant(name)})
    assert "full" in sim(url, {"participant_id": participant("d4")})[1]["error"]["detail"]


def test_a_blocklisted_participant_cannot_join(prolific):
    sim(f"{prolific}/api/v1/participant-groups/g1/participants/", {"participant_ids": [participant("e1")]})
    _, study = sim(f"{prolific}/api/v1/studies/", {**STUDY, "filters": [
        {"filter_id": "participant_group_blocklist", "selected_values": ["g1"]}]})
    sim(f"{prolific}/api/v1/studies/{study['id']}/transition/", {"action": "PUBLISH"})
    status, _ = sim(f"{prolific}/_sim/studies/{study['id']}/participants", {"participant_id": participant("e1")})
    assert status == 403
