"""The whole MTurk lifecycle on the offline simulator: publish → HIT page → submit → externalSubmit → sync."""

import json
import re
from decimal import Decimal
from io import StringIO
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.management import call_command

from tasks.models import Assignment, Batch, Hit
from tasks.services import spent_cost
from tasks.simulators.mturk.store import Store
from tests.mturk_sim import accept, make_batch, post_form, running_simulator

pytestmark = pytest.mark.django_db


def _config(html: str) -> dict:
    match = re.search(r'<script[^>]*id="hit-config"[^>]*>(.*?)</script>', html, re.S)
    assert match, "the HIT page carries its config"
    return json.loads(match.group(1))


def _work(client, sim_url: str, hit: Hit, worker_id: str, select_gold: bool) -> str:
    """A worker accepts on the simulator, opens our HIT page with MTurk's parameters, answers and submits."""
    accepted = accept(sim_url, hit.provider_hit_id, worker_id)
    url = urlparse(accepted["url"])
    params = {key: values[0] for key, values in parse_qs(url.query).items()}
    assert url.path == f"/hit/{hit.pk}/" and params["turkSubmitTo"] == sim_url
    page = client.get(url.path, params)
    assert page.status_code == 200, page.content
    config = _config(page.content.decode())
    assert config["mturkSubmitUrl"] == f"{sim_url}/mturk/externalSubmit"
    gold = list(hit.items.filter(role="gold_pos").values_list("image_id", flat=True))
    answer = client.post(f"/hit/{hit.pk}/submit/", {"token": config["token"], "selected": gold if select_gold else []},
                         content_type="application/json")
    assert answer.status_code == 200, answer.content
    status, body = post_form(config["mturkSubmitUrl"], {"assignmentId": config["assignmentId"], "summary": "answers"})
    assert status == 200, body
    return config["assignmentId"]


def test_it_runs_a_batch_end_to_end_on_the_simulator(client, settings, tmp_path):
    state_path = tmp_path / "sim.json"
    with running_simulator(state_path) as sim_url:
        settings.MTURK_ENDPOINT_URL = sim_url
        settings.RELABEL_PUBLIC_BASE_URL = "http://testserver"
        settings.RELABEL_MTURK_SUBMIT_HOSTS = [sim_url]
        batch = make_batch(hits=1, assignments=2, reward="0.50")
        out = StringIO()
        call_command("publish_hits", "--batch", batch.pk, "--target", "simulator", stdout=out)
        assert "at most $1.20" in out.getvalue() and "Account balance (simulator): $10000.00" in out.getvalue()
        hit = Hit.objects.get(batch=batch)
        assert hit.status == Hit.Status.PUBLISHED and hit.provider_hit_id

        good = _work(client, sim_url, hit, "AGOODWORKER", select_gold=True)
        bad = _work(client, sim_url, hit, "ABADWORKER", select_gold=False)
        call_command("sync_assignments", "--batch", batch.pk, stdout=StringIO())

        assert Assignment.objects.get(provider_assignment_id=good).status == Assignment.Status.APPROVED
        rejected = Assignment.objects.get(provider_assignment_id=bad)
        assert rejected.status == Assignment.Status.REJECTED and rejected.flagged
        state = Store(state_path).load()
        assert state["assignments"][good]["AssignmentStatus"] == "Approved"
        assert state["assignments"][bad]["AssignmentStatus"] == "Rejected"
        assert "control images" in state["assignments"][bad]["RequesterFeedback"]
        assert Decimal(state["balance"]) == Decimal("10000.00") - Decimal("0.60")
        cost = spent_cost(batch)
        expected = (1, Decimal("0.50"), Decimal("0.10"), Decimal("0.60"))
        assert (cost.approved, cost.rewards, cost.fees, cost.total) == expected
        assert Hit.objects.get(pk=hit.pk).status == Hit.Status.COMPLETE
        assert Batch.objects.get(pk=batch.pk).status == Batch.Status.DONE

        before = (state, list(Assignment.objects.order_by("pk").values_list("status", "reviewed_at")))
        call_command("publish_hits", "--batch", batch.pk, "--target", "simulator", stdout=StringIO())
        call_command("sync_assignments", "--batch", batch.pk, stdout=StringIO())
        after = (Store(state_path).load(), list(Assignment.objects.order_by("pk").values_list("status", "reviewed_at")))
        assert after == before
