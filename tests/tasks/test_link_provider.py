"""The link provider: study URL → HIT page, completion code page, reconciliation from the platform's CSV."""

from io import StringIO
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.management import CommandError, call_command

from tasks.models import Assignment
from tasks.providers import ProviderError, get_provider
from tasks.providers.link import completion_code, read_export
from tasks.services import publish_batch
from tasks.transitions import transition
from tests.mturk_sim import make_batch

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch(settings):
    settings.RELABEL_PUBLIC_BASE_URL = "https://relabel.example"
    batch = make_batch(hits=2, assignments=1)
    publish_batch(batch, get_provider("link"))
    return batch


def test_it_sends_a_participant_to_a_hit_with_mturk_style_params(client, batch):
    response = client.get(f"/link/{batch.pk}/start/", {"PROLIFIC_PID": "P123"})
    assert response.status_code == 302
    url = urlparse(response["Location"])
    params = {k: v[0] for k, v in parse_qs(url.query).items()}
    assignment = Assignment.objects.get(provider_assignment_id=params["assignmentId"])
    assert url.path == f"/hit/{assignment.hit_id}/" and params["workerId"] == "P123"
    assert params["turkSubmitTo"] == "https://relabel.example"
    again = client.get(f"/link/{batch.pk}/start/", {"PROLIFIC_PID": "P123"})
    assert again["Location"] == response["Location"]


def test_it_refuses_a_visit_without_participant_id(client, batch):
    assert client.get(f"/link/{batch.pk}/start/").status_code == 400


def test_it_shows_the_completion_code_after_submission(client, batch):
    client.get(f"/link/{batch.pk}/start/", {"PROLIFIC_PID": "P9"})
    assignment = Assignment.objects.get(worker__external_id="P9")
    assert client.post("/mturk/externalSubmit", {"assignmentId": assignment.provider_assignment_id}).status_code == 400
    transition(assignment, Assignment.Status.SUBMITTED)
    page = client.post("/mturk/externalSubmit", {"assignmentId": assignment.provider_assignment_id})
    assert completion_code(batch) in page.content.decode()


def test_it_reconciles_from_the_csv_export(client, batch, tmp_path):
    code = completion_code(batch)
    for participant, flagged in (("PGOOD", False), ("PBAD", True)):
        client.get(f"/link/{batch.pk}/start/", {"PROLIFIC_PID": participant})
        assignment = Assignment.objects.get(worker__external_id=participant)
        Assignment.objects.filter(pk=assignment.pk).update(flagged=flagged)
        assignment.refresh_from_db()
        transition(assignment, Assignment.Status.SUBMITTED)
    export = tmp_path / "export.csv"
    export.write_text(f"Participant id,Status,Completion code\nPGOOD,AWAITING REVIEW,{code}\n"
                      f"PBAD,AWAITING REVIEW,{code}\nPWRONG,AWAITING REVIEW,NOPE\n")
    out = StringIO()
    call_command("link_reconcile", "--batch", batch.pk, str(export), stdout=out)
    assert "Approve on the platform: PGOOD" in out.getvalue()
    assert "Reject on the platform (failed QC): PBAD" in out.getvalue()
    assert "Wrong completion code (review by hand): PWRONG" in out.getvalue()
    assert Assignment.objects.get(worker__external_id="PGOOD").status == Assignment.Status.APPROVED
    out = StringIO()
    call_command("link_reconcile", "--batch", batch.pk, str(export), stdout=out)
    assert "Already reviewed: PGOOD, PBAD" in out.getvalue()


def test_it_says_which_columns_the_export_needs(batch, tmp_path):
    with pytest.raises(ProviderError, match="participant id column"):
        read_export("a,b\n1,2\n")
    export = tmp_path / "bad.csv"
    export.write_text("a,b\n1,2\n")
    with pytest.raises(CommandError, match="completion code column"):
        call_command("link_reconcile", "--batch", batch.pk, str(export))
