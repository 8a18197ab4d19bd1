"""The whole Prolific loop on the simulator, over real HTTP: publish → participants on the landing and HIT pages
→ completion URL → sync → bonus, with every money movement in the simulator's ledger."""

from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command

from tasks.models import Assignment, Bonus, ProlificSession
from tests.mturk_sim import make_batch
from tests.prolific_sim import ledger, running_prolific, sim

pytestmark = pytest.mark.django_db(transaction=True)


def test_simulated_participants_take_a_batch_through_the_real_pages(live_server, settings, tmp_path):
    with running_prolific(tmp_path / "prolific.json", settings) as sim_url:
        settings.RELABEL_PUBLIC_BASE_URL = live_server.url
        batch = make_batch(hits=3, assignments=2, reward="0.10", options={"hits_per_session": 2})
        call_command("publish_hits", batch=batch.pk, target="prolific-sim", stdout=StringIO())
        out = StringIO()
        call_command("prolific_participants", batch=batch.pk, participants=3, seed=7, stdout=out)
        assert out.getvalue().count("completed on Prolific: True") == 3

        assert Assignment.objects.filter(status=Assignment.Status.SUBMITTED).count() == 6
        assert not Assignment.objects.exclude(confirmation=Assignment.Confirmation.UNCONFIRMED).exists()
        call_command("sync_assignments", batch=batch.pk, stdout=StringIO())
        assert set(Assignment.objects.values_list("confirmation", flat=True)) == {Assignment.Confirmation.CONFIRMED}

        study = batch.prolific_study.study_id
        remote = {s["id"]: s["status"] for s in sim(f"{sim_url}/api/v1/submissions/?study={study}")[1]["results"]}
        for session in ProlificSession.objects.all():
            local = set(Assignment.objects.filter(provider_assignment_id__startswith=session.session_id)
                        .values_list("status", flat=True))
            assert remote[session.session_id] == ("APPROVED" if Assignment.Status.APPROVED in local else "REJECTED")
        approved = sum(status == "APPROVED" for status in remote.values())
        assert Counter(row["kind"] for row in ledger(sim_url))["reward"] == approved

        paid = Assignment.objects.filter(status=Assignment.Status.APPROVED).first()
        assert paid is not None, "seed 7 has participants who pass the gold controls"
        call_command("pay_bonus", assignment=paid.pk, amount="0.05", reason="thanks", stdout=StringIO())
        call_command("pay_bonus", assignment=paid.pk, amount="0.05", reason="thanks", stdout=StringIO())
        assert Counter(row["kind"] for row in ledger(sim_url))["bonus"] == 1
        assert Bonus.objects.get().status == Bonus.Status.PAID
