"""A local annotator's HIT page says "HIT n of N": HITs answered in the batch plus this one, out of those plus
the HITs still open to them; provider visits (one HIT per assignment) show no progress."""

import pytest

from annotation.hit_pages import Progress, local_progress
from tasks.models import Assignment, Hit, HitItem, Provider
from tests.factories import LabelClassFactory, UserFactory, WorkerFactory
from tests.hitdata import contains_hit, images, judged

pytestmark = pytest.mark.django_db


def _batch_of(count: int, assignments_per_hit: int = 2) -> list[Hit]:
    label = LabelClassFactory()
    first = contains_hit(label, images(2), provider=Provider.LOCAL)
    first.batch.assignments_per_hit = assignments_per_hit
    first.batch.save()
    hits = [first]
    for _ in range(count - 1):
        hit = Hit.objects.create(batch=first.batch, label=label, status=Hit.Status.PUBLISHED)
        HitItem.objects.create(hit=hit, image=images(1)[0], position=0)
        hits.append(hit)
    return hits


def test_it_counts_answered_current_and_open_hits(client):
    hits = _batch_of(4, assignments_per_hit=1)
    user = UserFactory(username="ann")
    client.force_login(user)
    judged(hits[0], set(), worker=WorkerFactory(provider=Provider.LOCAL, external_id="ann", user=user))
    judged(hits[3], set())  # full: someone else took its only place
    response = client.get(f"/hit/{hits[1].pk}/")
    assert response.context["progress"] == Progress(2, 3)
    assert "HIT <strong>2</strong> of 3" in response.content.decode()


def test_it_keeps_the_count_once_the_current_hit_is_submitted():
    hits = _batch_of(2)
    worker = WorkerFactory(provider=Provider.LOCAL)
    done = judged(hits[0], set(), worker=worker)
    assert local_progress(done) == Progress(1, 2)
    current = Assignment.objects.create(hit=hits[1], worker=worker, confirmation=Assignment.Confirmation.CONFIRMED)
    assert local_progress(current) == Progress(2, 2)


def test_it_shows_no_progress_on_a_provider_visit(client):
    hit = contains_hit(LabelClassFactory(), images(2))
    response = client.get(f"/hit/{hit.pk}/", {"assignmentId": "A1", "workerId": "W1", "hitId": "H"})
    assert response.context.get("progress") is None and "hit-progress" not in response.content.decode()


def test_it_lets_the_browser_prefetch_the_next_hits_first_tiles(client):
    from django.core.files.base import ContentFile

    hits = _batch_of(3, assignments_per_hit=1)
    for item in hits[1].items.all():
        item.image.thumbnail.save("t.jpg", ContentFile(b"\xff\xd8\xff"), save=True)
    user = UserFactory(username="pre")
    client.force_login(user)
    html = client.get(f"/hit/{hits[0].pk}/").content.decode()
    expected = hits[1].items.get().image.thumbnail.url
    assert f'<script id="hit-prefetch" type="application/json">["{expected}"]</script>' in html
    judged(hits[1], set())  # someone else filled the next HIT: nothing to prefetch from it
    assert 'id="hit-prefetch"' not in client.get(f"/hit/{hits[0].pk}/").content.decode()
