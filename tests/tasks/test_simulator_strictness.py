"""The simulator is as strict as MTurk: signed calls only, TurkErrorCode, 24-hour tokens, faults, limits."""

import http.client
import json
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tasks.mturk import external_question
from tasks.simulators.mturk.operations import HIT_ALREADY_EXISTS
from tasks.simulators.mturk.server import MAX_BODY, MAX_JSON_DEPTH, make_server
from tests.mturk_sim import accept, advance_clock, inject_fault, post_form, running_simulator, submit

HIT_TYPE = {"Title": "t", "Description": "d", "Reward": "0.10", "AssignmentDurationInSeconds": 600,
            "AutoApprovalDelayInSeconds": 60}
TARGET = "MTurkRequesterServiceV20170117.GetAccountBalance"


@pytest.fixture
def sim(tmp_path):
    with running_simulator(tmp_path / "sim.json") as url:
        yield url


def _client(url: str, key_id: str = "simulator", retries: int = 0):
    return boto3.client("mturk", region_name="us-east-1", endpoint_url=url, aws_access_key_id=key_id,
                        aws_secret_access_key="x", config=Config(retries={"mode": "standard", "max_attempts": retries}))


@pytest.fixture
def client(sim):
    return _client(sim)


def _hit(client, **overrides) -> str:
    type_id = client.create_hit_type(**HIT_TYPE)["HITTypeId"]
    params = {"HITTypeId": type_id, "MaxAssignments": 2, "LifetimeInSeconds": 600,
              "Question": external_question("http://127.0.0.1:8000/hit/1/", 0), **overrides}
    return client.create_hit_with_hit_type(**params)["HIT"]["HITId"]


def _raw_post(url: str, body: bytes, headers: dict) -> tuple[int, dict]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.request("POST", "/", body=body, headers={"X-Amz-Target": TARGET, **headers})
    response = connection.getresponse()
    return response.status, json.loads(response.read() or b"{}")


SIGNED = {"Authorization": "AWS4-HMAC-SHA256 Credential=simulator/20260101/us-east-1/mturk-requester/aws4_request, "
                           "SignedHeaders=host, Signature=0"}


def test_it_answers_only_calls_signed_with_the_configured_key_id(sim):
    assert _raw_post(sim, b"{}", {})[1]["__type"] == "MissingAuthenticationTokenException"
    with pytest.raises(ClientError, match="UnrecognizedClientException"):
        _client(sim, key_id="someone-else").get_account_balance()
    assert _client(sim).get_account_balance()["AvailableBalance"] == "10000.00"


def test_it_refuses_deep_or_huge_bodies_with_an_mturk_shaped_400(sim):
    deep = b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1)
    assert _raw_post(sim, deep, SIGNED) == (400, {
        "__type": "SerializationException",
        "message": f"the body is refused: the JSON nests arrays or objects more than {MAX_JSON_DEPTH} levels deep"})
    status, body = _raw_post(sim, b'{"a": "' + b"[" * 5000 + b'"}', SIGNED)  # brackets inside a string are text
    assert (status, body["__type"]) == (400, "RequestError")
    status, body = _raw_post(sim, b"{}", {**SIGNED, "Content-Length": str(MAX_BODY + 1)})
    assert (status, body["__type"]) == (400, "SerializationException")


def test_it_names_errors_by_turk_error_code_and_forgets_tokens_after_24_hours(client, sim, tmp_path):
    first = _hit(client, UniqueRequestToken="tok")
    with pytest.raises(ClientError) as raised:
        _hit(client, UniqueRequestToken="tok")
    assert raised.value.response["TurkErrorCode"] == HIT_ALREADY_EXISTS and first in str(raised.value)
    advance_clock(tmp_path / "sim.json", hours=24.1)
    assert _hit(client, UniqueRequestToken="tok") != first  # MTurk no longer knows the token: a second HIT


def test_it_refuses_a_question_over_64_kb(client):
    question = external_question("http://127.0.0.1:8000/hit/1/?pad=" + "x" * 65_536, 0)
    with pytest.raises(ClientError, match="at most 65535 bytes"):
        _hit(client, Question=question)


def test_it_pays_bonuses_only_on_submitted_or_approved_work(client, sim):
    hit_id = _hit(client)
    assignment_id = accept(sim, hit_id, "AWORKER1")["assignmentId"]
    assert submit(sim, assignment_id)[0] == 200
    client.reject_assignment(AssignmentId=assignment_id, RequesterFeedback="no")
    with pytest.raises(ClientError, match="status of: Submitted, Approved"):
        client.send_bonus(WorkerId="AWORKER1", AssignmentId=assignment_id, BonusAmount="0.10", Reason="r")
    client.approve_assignment(AssignmentId=assignment_id, OverrideRejection=True)
    client.send_bonus(WorkerId="AWORKER1", AssignmentId=assignment_id, BonusAmount="0.10", Reason="r")
    paid = client.list_bonus_payments(AssignmentId=assignment_id)["BonusPayments"]
    assert [(p["WorkerId"], p["BonusAmount"], p["Reason"]) for p in paid] == [("AWORKER1", "0.10", "r")]


def test_it_refuses_to_expire_an_expired_hit(client):
    hit_id = _hit(client)
    client.update_expiration_for_hit(HITId=hit_id, ExpireAt=0)
    with pytest.raises(ClientError) as raised:
        client.update_expiration_for_hit(HITId=hit_id, ExpireAt=0)
    assert raised.value.response["TurkErrorCode"] == "AWS.MechanicalTurk.HITAlreadyExpired"


def test_it_checks_external_submit_as_mturk_does(client, sim):
    hit_id = _hit(client)
    assignment_id = accept(sim, hit_id, "AWORKER2")["assignmentId"]
    status, page = post_form(f"{sim}/mturk/externalSubmit", {"assignmentId": assignment_id})
    assert status == 400 and "no answer field" in page
    status, page = post_form(f"{sim}/mturk/externalSubmit",
                             {"assignmentId": assignment_id, "workerId": "AOTHER", "summary": "1"})
    assert status == 400 and "another worker" in page
    assert submit(sim, assignment_id)[0] == 200
    assert submit(sim, assignment_id)[0] == 400  # submitted once only


def test_it_injects_throttling_service_faults_and_lost_replies(sim, tmp_path):
    state = tmp_path / "sim.json"
    inject_fault(state, "GetAccountBalance", "throttle")
    assert _client(sim, retries=2).get_account_balance()["AvailableBalance"] == "10000.00"  # botocore retried
    inject_fault(state, "GetAccountBalance", "service_fault")
    with pytest.raises(ClientError) as raised:
        _client(sim).get_account_balance()
    assert raised.value.response["Error"]["Code"] == "ServiceFault"
    client = _client(sim)
    type_id = client.create_hit_type(**HIT_TYPE)["HITTypeId"]
    inject_fault(state, "CreateHITWithHITType", "lost_reply")
    with pytest.raises(Exception, match="Connection was closed"):
        client.create_hit_with_hit_type(HITTypeId=type_id, MaxAssignments=1, LifetimeInSeconds=600,
                                        Question=external_question("http://127.0.0.1:8000/hit/1/", 0))
    assert client.list_hits()["NumResults"] == 1  # done, though its answer was lost


def test_it_listens_on_loopback_by_default_and_needs_a_key_id(tmp_path):
    server = make_server(tmp_path / "sim.json")
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.server_close()
    with pytest.raises(ValueError, match="access key id"):
        make_server(tmp_path / "sim.json", access_key_id="")
