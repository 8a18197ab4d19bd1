"""Syncing a Prolific study: confirm and review completed sessions, report submissions with no stored answer."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from analytics.views import money
from tasks.models import Assignment, ProlificSession
from tasks.providers import get_provider
from tasks.services import publish_batch, spent_cost, sync_batch
from tests.mturk_sim import make_batch
from tests.prolific_sim import finish_session, join, ledger, participant, sim, submission_status

pytestmark = pytest.mark.django_db


def test_it_confirms_and_approves_a_passing_session(client, prolific, published):
    session = finish_session(client, prolific, published, "kim")
    report = sync_batch(published)
    assert report.approved == 1 and report.missing_answer == []
    mine = Assignment.objects.filter(worker__external_id=participant("kim"))
    assert set(mine.values_list("status", "confirmation")) == {
        (Assignment.Status.APPROVED, Assignment.Confirmation.CONFIRMED)}
    assert submission_status(prolific, session) == "APPROVED"
    assert [row["kind"] for row in ledger(prolific)] == ["reward", "fee"]
    assert ledger(prolific)[0]["amount"] == "0.20"  # one place: 2 HITs at $0.10
    assert sync_batch(published).approved == 0  # a re-sync changes nothing


def test_it_rejects_a_failing_session_with_a_category_and_a_long_message(client, prolific, published):
    session = finish_session(client, prolific, published, "lea", flagged=True)
    assert sync_batch(published).rejected == 1
    assert submission_status(prolific, session) == "REJECTED"
    assert set(Assignment.objects.filter(worker__external_id=participant("lea"))
               .values_list("status", flat=True)) == {Assignment.Status.REJECTED}
    assert ledger(prolific) == []


def test_a_submission_with_no_stored_answer_is_never_approved_and_is_reported(client, prolific, published):
    landing, session = join(prolific, published.prolific_study.study_id, participant("max"))
    client.get(landing)  # took a HIT, answered nothing here, and sent the code to Prolific anyway
    code = published.prolific_study.completion_code
    assert sim(f"{prolific}/_sim/complete?cc={code}&session={session}", method="GET")[0] == 200
    report = sync_batch(published)
    assert report.missing_answer == [session] and report.approved == 0
    assert submission_status(prolific, session) == "AWAITING REVIEW"
    unanswered = Assignment.objects.get(worker__external_id=participant("max"))
    assert (unanswered.status, unanswered.answer_missing) == (Assignment.Status.ACCEPTED, True)
    assert money(published.dataset)["unanswered_prolific"] == 1  # listed on the dashboard
    out = StringIO()
    call_command("sync_assignments", batch=published.pk, stdout=out)
    assert f"{session}: submitted on the platform but no answer is stored here" in out.getvalue()
    assert submission_status(prolific, session) == "AWAITING REVIEW"


def test_a_submission_nobody_opened_here_is_reported_too(prolific, published):
    _, session = join(prolific, published.prolific_study.study_id, participant("ned"))
    sim(f"{prolific}/_sim/complete?cc={published.prolific_study.completion_code}&session={session}", method="GET")
    assert sync_batch(published).missing_answer == [session]


def test_it_discards_sessions_prolific_never_heard_of(client, prolific, published):
    finish_session(client, prolific, published, "oli")
    ProlificSession.objects.filter(worker__external_id=participant("oli")).update(session_id="f" * 24)
    for assignment in Assignment.objects.filter(worker__external_id=participant("oli")):
        Assignment.objects.filter(pk=assignment.pk).update(provider_assignment_id=f"{'f' * 24}-{assignment.hit_id}")
    sync_batch(published)
    assert set(Assignment.objects.values_list("status", "confirmation")) == {
        (Assignment.Status.SUBMITTED, Assignment.Confirmation.DISCARDED)}


def test_it_follows_reviews_made_on_prolifics_site(client, prolific, published):
    session = finish_session(client, prolific, published, "pia")
    body = {"action": "REJECT", "rejection_category": "LOW_EFFORT", "message": "x" * 100}
    assert sim(f"{prolific}/api/v1/submissions/{session}/transition/", body)[0] == 200
    report = sync_batch(published)
    assert report.updated_from_provider == 2
    assert set(Assignment.objects.values_list("status", flat=True)) == {Assignment.Status.REJECTED}


def test_it_pages_through_every_submission(client, prolific):
    batch = make_batch(hits=12, assignments=1, options={"hits_per_session": 1})
    publish_batch(batch, get_provider("prolific-sim"))
    for index in range(12):
        finish_session(client, prolific, batch, f"p{index}")
    assert sync_batch(batch).approved == 12  # the simulator lists 10 a page


def test_spent_cost_counts_prolific_places_and_fees(client, prolific, published):
    finish_session(client, prolific, published, "quy")
    sync_batch(published)
    spent = spent_cost(published)
    assert (spent.approved, spent.rewards, spent.fees) == (2, Decimal("0.20"), Decimal("0.07"))


def test_a_submission_reviewed_on_prolific_with_a_hit_unanswered_frees_that_hit(client, prolific, published):
    landing, session = join(prolific, published.prolific_study.study_id, participant("rex"))
    client.get(landing)
    sim(f"{prolific}/_sim/complete?cc={published.prolific_study.completion_code}&session={session}", method="GET")
    assert sync_batch(published).missing_answer == [session]
    sim(f"{prolific}/api/v1/submissions/{session}/transition/", {"action": "APPROVE"})
    sync_batch(published)
    assert Assignment.objects.get(worker__external_id=participant("rex")).status == Assignment.Status.ABANDONED
