"""Every request tasks.mturk sends is checked by botocore's Stubber against the MTurk service model."""

from datetime import UTC, datetime
from decimal import Decimal

import boto3
import pytest
from botocore.stub import ANY, Stubber

from tasks import mturk
from tasks.providers.mturk import MTurkProvider, qualification_requirements
from tests.mturk_sim import make_batch

HIT_ID = "3ABCDEFGHIJKLMNOPQRSTUVWXYZ012"
HIT_TYPE_ID = "3TYPEABCDEFGHIJKLMNOPQRSTUVWX"
ASSIGNMENT_ID = "3ASSIGNABCDEFGHIJKLMNOPQRSTUV"


@pytest.fixture
def client():
    return boto3.client(
        "mturk", region_name="us-east-1", endpoint_url="https://mturk-requester-sandbox.us-east-1.amazonaws.com",
        aws_access_key_id="test", aws_secret_access_key="test",
    )


@pytest.fixture
def stub(client):
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def _hit(annotation: str = "", hit_id: str = HIT_ID) -> dict:
    return {"HITId": hit_id, "HITTypeId": HIT_TYPE_ID, "RequesterAnnotation": annotation}


def test_it_reads_the_balance(client, stub):
    stub.add_response("get_account_balance", {"AvailableBalance": "10000.00"}, {})
    assert mturk.get_balance(client) == Decimal("10000.00")


def test_it_creates_a_hit_type_with_qualifications(client, stub):
    qualification = {"QualificationTypeId": mturk.QUAL_APPROVAL_RATE, "Comparator": "GreaterThanOrEqualTo",
                     "IntegerValues": [95], "ActionsGuarded": "DiscoverPreviewAndAccept"}
    stub.add_response("create_hit_type", {"HITTypeId": HIT_TYPE_ID}, {
        "Title": "t", "Description": "d", "Reward": "0.10", "AssignmentDurationInSeconds": 600,
        "AutoApprovalDelayInSeconds": 3600, "QualificationRequirements": [qualification], "Keywords": "k",
    })
    spec = mturk.HitTypeSpec("t", "d", Decimal("0.1"), "k", 600, 3600, [qualification])
    assert mturk.create_hit_type(client, spec) == HIT_TYPE_ID


def test_it_creates_a_hit_with_a_unique_request_token(client, stub):
    question = mturk.external_question("https://relabel.example/hit/1/", 0)
    stub.add_response("create_hit_with_hit_type", {"HIT": _hit("tok")}, {
        "HITTypeId": HIT_TYPE_ID, "MaxAssignments": 9, "LifetimeInSeconds": 3600, "Question": question,
        "RequesterAnnotation": "tok", "UniqueRequestToken": "tok",
    })
    hit_id = mturk.create_hit(client, hit_type_id=HIT_TYPE_ID, question=question, max_assignments=9,
                              lifetime=3600, token="tok", annotation="tok")
    assert hit_id == HIT_ID


def test_it_counts_a_repeated_token_as_success_and_finds_the_hit(client, stub):
    message = "The HIT with ID 3ABC already exists for this token."
    stub.add_client_error("create_hit_with_hit_type", "RequestError", message,
                          modeled_fields={"Message": message, "TurkErrorCode": mturk.HIT_ALREADY_EXISTS})
    stub.add_response("list_hits", {"HITs": [_hit("other", "3OTHER"), _hit("tok")], "NextToken": "p2"},
                      {"MaxResults": 100})
    hit_id = mturk.create_hit(client, hit_type_id=HIT_TYPE_ID, question="<x/>", max_assignments=1,
                              lifetime=60, token="tok", annotation="tok")
    assert hit_id == HIT_ID


def test_it_tells_errors_apart_by_turk_error_code_not_by_wording(client, stub):
    message = 'The idempotency token "tok" has already been processed.'
    stub.add_client_error("create_hit_with_hit_type", "RequestError", message,
                          modeled_fields={"Message": message, "TurkErrorCode": "AWS.MechanicalTurk.InsufficientFunds"})
    with pytest.raises(mturk.MTurkError) as raised:
        mturk.create_hit(client, hit_type_id=HIT_TYPE_ID, question="<x/>", max_assignments=1, lifetime=60,
                         token="tok", annotation="tok")
    assert raised.value.turk_error_code == "AWS.MechanicalTurk.InsufficientFunds"


def test_it_raises_other_create_errors(client, stub):
    stub.add_client_error("create_hit_with_hit_type", "ServiceFault", "Internal error")
    with pytest.raises(mturk.MTurkError, match="ServiceFault: Internal error"):
        mturk.create_hit(client, hit_type_id=HIT_TYPE_ID, question="<x/>", max_assignments=1, lifetime=60,
                         token="tok", annotation="tok")


def test_it_pages_through_assignments(client, stub):
    statuses = ["Submitted", "Approved", "Rejected"]
    first = [{"AssignmentId": f"3A{i}", "AssignmentStatus": "Submitted"} for i in range(100)]
    stub.add_response("list_assignments_for_hit", {"Assignments": first, "NextToken": "next"},
                      {"HITId": HIT_ID, "MaxResults": 100, "AssignmentStatuses": statuses})
    stub.add_response("list_assignments_for_hit", {"Assignments": [{"AssignmentId": "3LAST"}]},
                      {"HITId": HIT_ID, "MaxResults": 100, "AssignmentStatuses": statuses, "NextToken": "next"})
    ids = [a["AssignmentId"] for a in mturk.iter_assignments(client, HIT_ID)]
    assert len(ids) == 101 and ids[-1] == "3LAST"


def test_it_approves_rejects_and_pays_bonuses(client, stub):
    stub.add_response("approve_assignment", {}, {"AssignmentId": ASSIGNMENT_ID})
    stub.add_response("reject_assignment", {}, {"AssignmentId": ASSIGNMENT_ID, "RequesterFeedback": "why"})
    stub.add_response("send_bonus", {}, {"WorkerId": "AWORKER1", "AssignmentId": ASSIGNMENT_ID,
                                         "BonusAmount": "0.50", "Reason": "thanks", "UniqueRequestToken": "b1"})
    mturk.approve_assignment(client, ASSIGNMENT_ID)
    mturk.reject_assignment(client, ASSIGNMENT_ID, "why")
    mturk.send_bonus(client, worker_id="AWORKER1", assignment_id=ASSIGNMENT_ID, amount=Decimal("0.5"),
                     reason="thanks", token="b1")


def test_it_leaves_a_refused_bonus_to_the_provider_to_settle_from_list_bonus_payments(client, stub):
    stub.add_client_error("send_bonus", "RequestError", 'The idempotency token "b1" has already been processed.')
    with pytest.raises(mturk.MTurkError, match="RequestError"):
        mturk.send_bonus(client, worker_id="AWORKER1", assignment_id=ASSIGNMENT_ID, amount=Decimal("1"),
                         reason="thanks", token="b1")
    payment = {"WorkerId": "AWORKER1", "BonusAmount": "1.00", "AssignmentId": ASSIGNMENT_ID, "Reason": "thanks",
               "GrantTime": datetime(2026, 1, 1, tzinfo=UTC)}
    stub.add_response("list_bonus_payments", {"BonusPayments": [payment]},
                      {"AssignmentId": ASSIGNMENT_ID, "MaxResults": 100})
    assert mturk.list_bonus_payments(client, ASSIGNMENT_ID) == [payment]


def test_it_takes_a_repeated_expiry_as_success_and_other_refusals_as_errors(client, stub):
    expire = {"HITId": HIT_ID, "ExpireAt": datetime(2015, 1, 1, tzinfo=UTC)}
    stub.add_client_error("update_expiration_for_hit", "RequestError", "expired", expected_params=expire)
    stub.add_response("get_hit", {"HIT": {**_hit(), "Expiration": datetime(2015, 1, 1, tzinfo=UTC)}}, {"HITId": HIT_ID})
    mturk.expire_hit(client, HIT_ID)
    stub.add_client_error("update_expiration_for_hit", "RequestError", "no such HIT", expected_params=expire)
    stub.add_response("get_hit", {"HIT": {**_hit(), "Expiration": datetime(2099, 1, 1, tzinfo=UTC)}}, {"HITId": HIT_ID})
    with pytest.raises(mturk.MTurkError):
        mturk.expire_hit(client, HIT_ID)


def test_it_blocks_unblocks_and_expires(client, stub):
    stub.add_response("create_worker_block", {}, {"WorkerId": "AWORKER1", "Reason": "spam"})
    stub.add_response("delete_worker_block", {}, {"WorkerId": "AWORKER1", "Reason": "sorry"})
    stub.add_response("update_expiration_for_hit", {}, {"HITId": HIT_ID, "ExpireAt": datetime(2015, 1, 1, tzinfo=UTC)})
    mturk.block_worker(client, "AWORKER1", "spam")
    mturk.unblock_worker(client, "AWORKER1", "sorry")
    mturk.expire_hit(client, HIT_ID)


@pytest.mark.django_db
def test_it_publishes_a_hit_with_the_batch_options(client, stub, settings):
    settings.RELABEL_PUBLIC_BASE_URL = "https://relabel.example"
    batch = make_batch(hits=1, assignments=12, options={
        "min_approval_rate": 98, "min_approved_hits": 1000, "locales": ["US", "CA"], "frame_height": 800,
        "custom_qualification": {"id": "3CUSTOMQUAL", "comparator": "EqualTo", "value": 1}, "rounds_of": 9,
    })
    hit = batch.hits.get()
    stub.add_response("create_hit_type", {"HITTypeId": HIT_TYPE_ID}, {
        "Title": ANY, "Description": ANY, "Reward": "0.10", "AssignmentDurationInSeconds": 3600,
        "AutoApprovalDelayInSeconds": 259200, "Keywords": ANY, "QualificationRequirements": [
            {"QualificationTypeId": mturk.QUAL_APPROVAL_RATE, "Comparator": "GreaterThanOrEqualTo",
             "IntegerValues": [98], "ActionsGuarded": "DiscoverPreviewAndAccept"},
            {"QualificationTypeId": mturk.QUAL_APPROVED_HITS, "Comparator": "GreaterThanOrEqualTo",
             "IntegerValues": [1000], "ActionsGuarded": "DiscoverPreviewAndAccept"},
            {"QualificationTypeId": mturk.QUAL_LOCALE, "Comparator": "In",
             "LocaleValues": [{"Country": "US"}, {"Country": "CA"}], "ActionsGuarded": "DiscoverPreviewAndAccept"},
            {"QualificationTypeId": "3CUSTOMQUAL", "Comparator": "EqualTo", "IntegerValues": [1],
             "ActionsGuarded": "DiscoverPreviewAndAccept"},
        ],
    })
    question = mturk.external_question(f"https://relabel.example/hit/{hit.pk}/", 800)
    for index, size in enumerate([9, 3]):
        token = f"rl-hit-{hit.pk}-{int(hit.created_at.timestamp())}-r{index}"
        stub.add_response("create_hit_with_hit_type", {"HIT": _hit(token, f"3ROUND{index}")}, {
            "HITTypeId": HIT_TYPE_ID, "MaxAssignments": size, "LifetimeInSeconds": 604800, "Question": question,
            "RequesterAnnotation": token, "UniqueRequestToken": token,
        })
    assert MTurkProvider("sandbox", client=client).publish(hit) is True
    hit.refresh_from_db()
    assert (hit.status, hit.provider_hit_id, hit.provider_round_ids) == ("published", "3ROUND0", ["3ROUND0", "3ROUND1"])
    assert hit.provider_hit_type_id == HIT_TYPE_ID


def test_it_escapes_the_external_url():
    xml = mturk.external_question("https://x.example/hit/1/?a=1&b=2", 0)
    assert "<ExternalURL>https://x.example/hit/1/?a=1&amp;b=2</ExternalURL>" in xml
    assert "<FrameHeight>0</FrameHeight>" in xml


@pytest.mark.parametrize("comparator", ["Exists", "DoesNotExist"])
def test_it_sends_no_integer_values_with_exists_comparators(client, stub, comparator):
    requirements = qualification_requirements(
        {"custom_qualification": {"id": "3CUSTOMQUAL", "comparator": comparator, "value": 1}, "masters": True},
        "production",
    )
    assert requirements[-2:] == [
        {"QualificationTypeId": mturk.QUAL_MASTERS["production"], "Comparator": "Exists",
         "ActionsGuarded": "DiscoverPreviewAndAccept"},
        {"QualificationTypeId": "3CUSTOMQUAL", "Comparator": comparator, "ActionsGuarded": "DiscoverPreviewAndAccept"},
    ]
    stub.add_response("create_hit_type", {"HITTypeId": HIT_TYPE_ID}, {
        "Title": "t", "Description": "d", "Reward": "0.10", "AssignmentDurationInSeconds": 600,
        "AutoApprovalDelayInSeconds": 0, "QualificationRequirements": requirements,
    })
    mturk.create_hit_type(client, mturk.HitTypeSpec("t", "d", Decimal("0.10"), "", 600, 0, requirements))
