"""The dashboard's "propose candidates" job runs models_zoo's proposal and records how it went."""


import pytest
from django.urls import reverse

from analytics import jobs
from analytics.models import JobRun
from annotation.importer import import_images
from annotation.models import CandidateLabel
from annotation.taxonomy import load_taxonomy
from tests.factories import DatasetFactory, ImageFactory, LabelClassFactory, UserFactory
from tests.requirements import copy_samples, require_models

pytestmark = pytest.mark.django_db


def _run(dataset) -> JobRun:
    job = JobRun.objects.create(dataset=dataset, kind=JobRun.Kind.CANDIDATES)
    assert jobs.execute(job.pk) is True
    job.refresh_from_db()
    return job


def test_it_records_why_proposal_cannot_run():
    dataset = DatasetFactory(name="no-taxonomy")
    ImageFactory(dataset=dataset, file="images/x.jpg", original_label=LabelClassFactory(index=0))
    job = _run(dataset)
    assert job.status == JobRun.Status.FAILED and "manage.py load_taxonomy" in job.message


def test_it_has_nothing_to_do_for_images_without_files():
    load_taxonomy()
    dataset = DatasetFactory(name="released")
    ImageFactory(dataset=dataset, original_label=LabelClassFactory(index=0))
    job = _run(dataset)
    assert (job.status, job.message) == (JobRun.Status.DONE, "no image needs candidates (1 images have no file)")


@pytest.mark.models
@pytest.mark.samples
def test_it_proposes_candidates_for_real_images(client, tmp_path, django_capture_on_commit_callbacks):
    require_models()
    copy_samples(tmp_path, count=2)
    load_taxonomy()
    import_images("two", tmp_path)
    client.force_login(UserFactory(username="staff", is_staff=True))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("analytics:start-job", args=["two", "candidates"]),
                               HTTP_ACCEPT="application/json")
    job = JobRun.objects.get(pk=response.json()["id"])
    assert (job.status, job.progress) == (JobRun.Status.DONE, 1.0), job.message
    assert job.message.startswith("2/2 images have candidates")
    assert CandidateLabel.objects.filter(image__dataset__name="two", is_original=True).count() == 2
