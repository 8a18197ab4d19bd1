"""The simulator validates requests like MTurk, keeps state on disk and plays the worker's side."""

import boto3
import pytest
from botocore.exceptions import ClientError

from tasks.mturk import external_question
from tasks.simulators.mturk import operations
from tasks.simulators.mturk.store import Store
from tasks.simulators.mturk.validation import RequestError, validate
from tests.mturk_sim import accept, post_form, running_simulator

HIT_TYPE = {"Title": "t", "Description": "d", "Reward": "0.10", "AssignmentDurationInSeconds": 600,
            "AutoApprovalDelayInSeconds": 60}


@pytest.fixture
def sim(tmp_path):
    with running_simulator(tmp_path / "sim.json") as url:
        yield url


@pytest.fixture
def client(sim):
    return boto3.client("mturk", region_name="us-east-1", endpoint_url=sim,
                        aws_access_key_id="simulator", aws_secret_access_key="x")


def _hit(client, **overrides) -> str:
    type_id = client.create_hit_type(**HIT_TYPE)["HITTypeId"]
    params = {"HITTypeId": type_id, "MaxAssignments": 2, "LifetimeInSeconds": 600,
              "Question": external_question("http://127.0.0.1:8000/hit/1/", 0), **overrides}
    return client.create_hit_with_hit_type(**params)["HIT"]["HITId"]


@pytest.mark.parametrize(("overrides", "message"), [
    ({"MaxAssignments": 0}, "MaxAssignments must be between 1 and 1000000"),
    ({"LifetimeInSeconds": 10}, "LifetimeInSeconds must be between 30"),
    ({"Question": "<ExternalQuestion>"}, "not well-formed XML"),
    ({"Question": "<x/>"}, "ExternalQuestion"),
    ({"HITTypeId": "3NOSUCHTYPE"}, "does not exist"),
])
def test_it_refuses_invalid_hits(client, overrides, message):
    with pytest.raises(ClientError, match=message) as error:
        _hit(client, **overrides)
    assert error.value.response["Error"]["Code"] == "RequestError"


def test_it_refuses_bad_rewards_and_durations(client):
    with pytest.raises(ClientError, match=r"Reward must be at least 0\.01"):
        client.create_hit_type(**{**HIT_TYPE, "Reward": "0.00"})
    with pytest.raises(ClientError, match="AutoApprovalDelayInSeconds must be between 0 and 2592000"):
        client.create_hit_type(**{**HIT_TYPE, "AutoApprovalDelayInSeconds": 2592001})


def test_it_validates_shapes_from_the_service_model():
    with pytest.raises(RequestError, match="Missing required parameter HITTypeId"):
        validate("CreateHITWithHITType", {"LifetimeInSeconds": 60})
    with pytest.raises(RequestError, match="does not match"):
        validate("SendBonus", {"WorkerId": "bad id", "BonusAmount": "1.00", "AssignmentId": "3A", "Reason": "r"})


def test_it_keeps_state_on_disk_across_restarts(client, tmp_path):
    hit_id = _hit(client, UniqueRequestToken="tok")
    with running_simulator(tmp_path / "sim.json") as url:
        again = boto3.client("mturk", region_name="us-east-1", endpoint_url=url,
                             aws_access_key_id="simulator", aws_secret_access_key="x")
        assert again.get_hit(HITId=hit_id)["HIT"]["HITStatus"] == "Assignable"
        with pytest.raises(ClientError, match="already been processed"):
            _hit(again, UniqueRequestToken="tok")


def test_it_runs_the_worker_side_and_charges_on_approval(client, sim, tmp_path):
    hit_id = _hit(client)
    accepted = accept(sim, hit_id, "AWORKER1")
    assert "assignmentId=" in accepted["url"] and "turkSubmitTo=" in accepted["url"]
    assert post_form(f"{sim}/mturk/externalSubmit", {"assignmentId": accepted["assignmentId"], "a": "1"})[0] == 200
    assert post_form(f"{sim}/mturk/externalSubmit", {"assignmentId": accepted["assignmentId"]})[0] == 400
    listed = client.list_assignments_for_hit(HITId=hit_id)["Assignments"]
    assert [a["AssignmentStatus"] for a in listed] == ["Submitted"]
    client.approve_assignment(AssignmentId=accepted["assignmentId"])
    with pytest.raises(ClientError, match="status of: Submitted"):
        client.approve_assignment(AssignmentId=accepted["assignmentId"])
    assert client.get_account_balance()["AvailableBalance"] == "9999.88"


def test_it_enforces_blocks_and_expiry(client, sim):
    hit_id = _hit(client)
    client.create_worker_block(WorkerId="ABLOCKED", Reason="spam")
    assert post_form(f"{sim}/sim/accept", {"hitId": hit_id, "workerId": "ABLOCKED"})[0] == 400
    client.update_expiration_for_hit(HITId=hit_id, ExpireAt=0)
    assert client.get_hit(HITId=hit_id)["HIT"]["HITStatus"] == "Reviewable"
    assert post_form(f"{sim}/sim/accept", {"hitId": hit_id, "workerId": "AOTHER"})[0] == 400


def test_it_auto_approves_after_the_delay(tmp_path):
    state = Store(tmp_path / "s.json").load()
    type_id = operations.create_hit_type(state, HIT_TYPE)["HITTypeId"]
    question = external_question("http://x/hit/1/", 0)
    hit_id = operations.create_hit_with_hit_type(
        state, {"HITTypeId": type_id, "LifetimeInSeconds": 600, "Question": question})["HIT"]["HITId"]
    assignment_id = operations.accept(state, hit_id, "AWORKER", "http://sim")["assignmentId"]
    submitted = operations.external_submit(state, {"assignmentId": assignment_id, "summary": "1"})
    operations.tick(state, at=submitted["AutoApprovalTime"] + 1)
    assert state["assignments"][assignment_id]["AssignmentStatus"] == "Approved"
