"""Publishing a batch on Prolific: one study, claimed before create, found again after a crash, even a day later."""

import json
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tasks import prolific as api
from tasks.models import Assignment, Hit, ProlificStudy
from tasks.providers import ProviderError, get_provider
from tasks.providers.prolific import draft_study_body, internal_name, plan
from tasks.services import publish_batch
from tests.factories import AssignmentFactory, WorkerFactory
from tests.mturk_sim import make_batch
from tests.prolific_sim import sim

pytestmark = pytest.mark.django_db


def studies(sim_url: str) -> list[dict]:
    return sim(f"{sim_url}/api/v1/studies/?page_size=100")[1]["results"]


def test_it_publishes_a_batch_as_one_active_study(prolific, provider):
    batch = make_batch(hits=5, assignments=3, reward="0.10", options={"hits_per_session": 2,
                                                                     "prolific_devices": ["desktop", "tablet"]})
    report = publish_batch(batch, provider)
    assert report.created == 5
    [study] = studies(prolific)
    assert study["status"] == "ACTIVE" and study["internal_name"].startswith(f"relabel-batch-{batch.pk}-")
    assert study["total_available_places"] == 8  # ceil(5 HITs x 3 / 2)
    assert study["reward"] == 20 and study["device_compatibility"] == ["desktop", "tablet"]
    assert study["completion_codes"][0]["code"] == batch.prolific_study.completion_code
    assert "SESSION_ID={{%SESSION_ID%}}" in study["external_study_url"]
    assert set(batch.hits.values_list("provider_hit_id", flat=True)) == {study["id"]}
    assert publish_batch(batch, provider).created == 0 and len(studies(prolific)) == 1


def test_a_lost_reply_to_create_finds_the_draft_instead_of_making_a_second(prolific, provider):
    batch = make_batch(hits=2)
    sim(f"{prolific}/_sim/faults", {"drop": 1, "drop_path": "/api/v1/studies/"})
    publish_batch(batch, provider)
    [study] = studies(prolific)
    assert batch.prolific_study.study_id == study["id"] and study["status"] == "ACTIVE"


def crash_after_create(batch, provider, claimed_at) -> dict:
    """A publisher claimed the batch, Prolific created the study, and the publisher died before storing it."""
    ProlificStudy.objects.create(batch=batch, internal_name=internal_name(batch), claimed_at=claimed_at,
                                 hits_per_session=1, completion_code="C0DE")
    return api.create_study(provider.client, draft_study_body(batch) | {"completion_codes": [
        {"code": "C0DE", "code_type": "COMPLETED", "actions": [{"action": "MANUALLY_REVIEW"}]}]})


def test_a_publish_retried_a_day_after_a_crash_finds_the_draft(prolific, provider):
    batch = make_batch(hits=2)
    created = crash_after_create(batch, provider, timezone.now() - timedelta(days=1))
    sim(f"{prolific}/_sim/clock", {"advance_seconds": 24 * 3600})
    publish_batch(batch, provider)
    [study] = studies(prolific)
    assert study["id"] == created["id"] == ProlificStudy.objects.get(batch=batch).study_id
    assert study["status"] == "ACTIVE"


def test_a_fresh_claim_of_another_publisher_is_left_alone(prolific, provider):
    batch = make_batch(hits=1)
    crash_after_create(batch, provider, timezone.now())
    with pytest.raises(ProviderError, match="another publisher"):
        publish_batch(batch, provider)
    assert len(studies(prolific)) == 1 and Hit.objects.get(batch=batch).status == Hit.Status.DRAFT


def test_it_plans_places_time_and_cost(settings):
    settings.PROLIFIC_SERVICE_FEE_RATE = Decimal("0.333")
    batch = make_batch(hits=3, assignments=9, reward="0.10", options={"hits_per_session": 4, "seconds_per_hit": 45})
    study = plan(batch)
    assert (study.places, study.reward_per_place, study.minutes) == (7, Decimal("0.40"), 3)
    assert (study.rewards, study.fees, study.total) == (Decimal("2.80"), Decimal("0.93"), Decimal("3.73"))


def test_the_dry_run_prints_the_study_and_creates_nothing(prolific):
    batch = make_batch(hits=2, options={"hits_per_session": 1})
    out = StringIO()
    call_command("publish_hits", batch=batch.pk, target="prolific-sim", dry_run=True, stdout=out)
    text = out.getvalue()
    body = json.loads(text[text.index("{"):])
    assert body["total_available_places"] == 6 and body["prolific_id_option"] == "url_parameters"
    assert "Prolific's service fee 33.3%" in text
    assert studies(prolific) == [] and not ProlificStudy.objects.exists()


def test_production_prolific_needs_the_typed_confirmation(settings, monkeypatch):
    settings.RELABEL_PUBLIC_BASE_URL = "https://relabel.example"
    monkeypatch.setenv("PROLIFIC_API_TOKEN", "not-used")
    batch = make_batch(hits=1)
    with pytest.raises(CommandError, match="confirmation did not match"):
        call_command("publish_hits", batch=batch.pk, target="prolific", confirm="yes", stdout=StringIO())
    assert not ProlificStudy.objects.exists()


def test_it_refuses_to_publish_when_the_balance_is_short(prolific, settings):
    settings.PROLIFIC_WORKSPACE_ID = "workspace1"
    batch = make_batch(hits=10, assignments=50, reward="25.00")
    with pytest.raises(CommandError, match="below the cost"):
        call_command("publish_hits", batch=batch.pk, target="prolific-sim", stdout=StringIO())
    assert studies(prolific) == []


def test_it_publishes_through_the_command(prolific):
    batch = make_batch(hits=2)
    out = StringIO()
    call_command("publish_hits", batch=batch.pk, target="prolific-sim", stdout=out)
    assert f"study {studies(prolific)[0]['id']} published" in out.getvalue()


def test_real_prolific_needs_an_https_site(settings, monkeypatch):
    settings.RELABEL_PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    monkeypatch.setenv("PROLIFIC_API_TOKEN", "not-used")
    with pytest.raises(ProviderError, match="not HTTPS"):
        get_provider("prolific").publish(make_batch(hits=1).hits.first())


def test_it_sizes_sessions_from_the_measured_time_per_hit(settings):
    settings.PROLIFIC_SECONDS_PER_HIT = 60
    done = make_batch(hits=20, assignments=1)
    worker = WorkerFactory()
    for hit in done.hits.all():
        assignment = AssignmentFactory(hit=hit, worker=worker)
        start = timezone.now()
        Assignment.objects.filter(pk=assignment.pk).update(
            accepted_at=start, submitted_at=start + timedelta(seconds=120), status=Assignment.Status.SUBMITTED)
    batch = make_batch(hits=30)
    assert plan(batch).hits_per_session == 5  # ten minutes of 2-minute HITs
    assert plan(make_batch(hits=30, options={"seconds_per_hit": 30})).hits_per_session == 20
