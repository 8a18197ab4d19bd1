import pytest

from tasks.models import Assignment, Hit, Provider, Worker
from tests.factories import LabelClassFactory, UserFactory
from tests.hitdata import contains_hit, images, judged

pytestmark = pytest.mark.django_db


def local_hit(**kwargs) -> Hit:
    return contains_hit(LabelClassFactory(), images(2), provider=Provider.LOCAL, **kwargs)


def test_it_sends_an_annotator_to_the_next_hit_they_have_not_done(client):
    first, second = local_hit(), local_hit()
    user = UserFactory()
    client.force_login(user)
    assert client.get("/annotate/").url == f"/hit/{first.pk}/"
    page = client.get(f"/hit/{first.pk}/")
    assert page.context["config"]["token"]
    worker = Worker.objects.get(provider=Provider.LOCAL, external_id=user.username, user=user)
    assert client.get("/annotate/").url == f"/hit/{first.pk}/"  # unfinished work first
    Assignment.objects.filter(worker=worker).update(status=Assignment.Status.SUBMITTED)
    assert client.get("/annotate/").url == f"/hit/{second.pk}/"


def test_it_skips_full_and_unpublished_hits_and_says_when_nothing_is_left(client):
    full = local_hit()
    full.batch.assignments_per_hit = 1
    full.batch.save()
    judged(full, set())
    local_hit(status=Hit.Status.DRAFT)
    client.force_login(UserFactory())
    response = client.get("/annotate/")
    assert response.status_code == 200
    assert "All done" in response.content.decode()
    assert client.get(f"/hit/{full.pk}/").status_code == 409


def test_it_asks_anonymous_visitors_to_log_in(client):
    assert client.get("/annotate/").url.startswith("/accounts/login/")
