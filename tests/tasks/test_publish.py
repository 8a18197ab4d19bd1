"""publish_hits: cost and balance first, HTTPS for MTurk, production guarded, claims, nothing created twice."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tasks.models import Hit
from tasks.services import estimate_cost
from tasks.simulators.mturk.store import Store
from tests.mturk_sim import make_batch, running_simulator

pytestmark = pytest.mark.django_db


@pytest.fixture
def sim(settings, tmp_path):
    with running_simulator(tmp_path / "sim.json") as url:
        settings.MTURK_ENDPOINT_URL = url
        yield tmp_path / "sim.json"


def _publish(*args: str) -> str:
    out = StringIO()
    call_command("publish_hits", *args, stdout=out)
    return out.getvalue()


def test_it_prints_cost_with_the_large_hit_fee_and_offers_rounds(sim):
    batch = make_batch(hits=2, assignments=10, reward="0.10")
    output = _publish("--batch", str(batch.pk), "--target", "simulator", "--dry-run")
    assert "20 assignments" in output and "at most $2.80" in output
    assert "40% on 2 HITs" in output and "--rounds-of 9" in output
    assert "Account balance (simulator): $10000.00" in output
    assert not Store(sim).load()["hits"]


def test_it_splits_large_hits_into_rounds_at_the_lower_fee(sim):
    batch = make_batch(hits=1, assignments=10, reward="0.10")
    output = _publish("--batch", str(batch.pk), "--target", "simulator", "--rounds-of", "9")
    assert "at most $1.20" in output
    hit = batch.hits.get()
    sizes = sorted(h["MaxAssignments"] for h in Store(sim).load()["hits"].values())
    assert sizes == [1, 9] and len(hit.provider_round_ids) == 2


def test_it_refuses_plain_http_for_mturk(settings):
    settings.RELABEL_PUBLIC_BASE_URL = "http://example.org"
    batch = make_batch(provider="sandbox")
    with pytest.raises(CommandError, match="not HTTPS"):
        _publish("--batch", str(batch.pk))


def test_it_guards_production_with_a_flag_and_a_typed_confirmation(settings, monkeypatch):
    settings.RELABEL_PUBLIC_BASE_URL = "https://relabel.example"
    batch = make_batch()
    with pytest.raises(CommandError, match="--production"):
        _publish("--batch", str(batch.pk), "--target", "production")
    monkeypatch.setattr("tasks.providers.mturk.MTurkProvider.balance", lambda self: 10_000)
    with pytest.raises(CommandError, match="confirmation did not match"):
        _publish("--batch", str(batch.pk), "--target", "production", "--production", "--confirm", "yes")
    assert set(batch.hits.values_list("status", flat=True)) == {Hit.Status.DRAFT}


def test_it_never_creates_a_hit_twice(sim):
    batch = make_batch(hits=3)
    assert "3 HITs published" in _publish("--batch", str(batch.pk), "--target", "simulator")
    assert "0 HITs published, 3 already published" in _publish("--batch", str(batch.pk), "--target", "simulator")
    assert len(Store(sim).load()["hits"]) == 3


def test_it_skips_a_hit_another_publisher_claimed_and_takes_over_a_stale_claim(sim):
    batch = make_batch(hits=2)
    fresh, stale = batch.hits.order_by("pk")
    Hit.objects.filter(pk=fresh.pk).update(status=Hit.Status.PUBLISHING, claimed_at=timezone.now())
    Hit.objects.filter(pk=stale.pk).update(
        status=Hit.Status.PUBLISHING, claimed_at=timezone.now() - timezone.timedelta(hours=1)
    )
    assert "1 HITs published" in _publish("--batch", str(batch.pk), "--target", "simulator")
    assert Hit.objects.get(pk=fresh.pk).status == Hit.Status.PUBLISHING
    assert Hit.objects.get(pk=stale.pk).status == Hit.Status.PUBLISHED


def test_it_recovers_the_hit_id_when_the_token_was_already_used(sim):
    batch = make_batch(hits=1)
    _publish("--batch", str(batch.pk), "--target", "simulator")
    hit = batch.hits.get()
    first_id = hit.provider_hit_id
    Hit.objects.filter(pk=hit.pk).update(status=Hit.Status.DRAFT, provider_hit_id="", provider_round_ids=[])
    _publish("--batch", str(batch.pk), "--target", "simulator")
    assert Hit.objects.get(pk=hit.pk).provider_hit_id == first_id
    assert len(Store(sim).load()["hits"]) == 1


def test_it_estimates_cost_with_the_minimum_fee():
    batch = make_batch(hits=1, assignments=3, reward="0.01", provider="simulator")
    estimate = estimate_cost(batch)
    assert (str(estimate.rewards), str(estimate.fees), str(estimate.total)) == ("0.03", "0.03", "0.06")


def test_it_prints_the_link_study_url_and_code(settings):
    settings.RELABEL_PUBLIC_BASE_URL = "https://relabel.example"
    batch = make_batch(hits=1)
    output = _publish("--batch", str(batch.pk), "--target", "link")
    assert f"https://relabel.example/link/{batch.pk}/start/?PROLIFIC_PID={{{{%PROLIFIC_PID%}}}}" in output
    batch.refresh_from_db()
    assert f"Completion code: {batch.options['completion_code']}" in output
