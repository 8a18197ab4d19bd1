"""No worker is handed an item twice: MTurk-style visits, local annotators, link participants (tasks.exposure)."""

import pytest

from annotation.hit_pages import VisitError, next_local_hit, resolve_visit
from tasks.exposure import FIRST_CANDIDATES, repeats_an_item
from tasks.models import Assignment, Batch, HitItem, Provider
from tasks.providers.link import start
from tests.factories import AssignmentFactory, LabelClassFactory, UserFactory, WorkerFactory
from tests.hitdata import classify_hit, contains_hit, images, judged

pytestmark = pytest.mark.django_db
GOLD = HitItem.Role.GOLD_POSITIVE


def visit(hit, worker_id: str, assignment_id: str):
    params = {"assignmentId": assignment_id, "workerId": worker_id}
    return resolve_visit(hit, params, UserFactory.build(is_staff=False))


def test_it_refuses_a_visit_to_a_hit_that_repeats_a_pair_the_worker_judged():
    label, (shared, fresh) = LabelClassFactory(), images(2)
    first, again = contains_hit(label, [shared]), contains_hit(label, [shared, fresh])
    visit(first, "W1", "A1")
    with pytest.raises(VisitError, match="already judged an image of this HIT") as refused:
        visit(again, "W1", "A2")
    assert refused.value.status == 409
    assert visit(again, "W2", "A3").assignment is not None  # another worker may
    other_label = contains_hit(LabelClassFactory(), [shared])
    assert visit(other_label, "W1", "A4").assignment is not None  # another pair


def test_a_gold_tile_counts_as_a_repeat_of_a_candidate_but_gold_controls_may_come_back():
    label, (image, control, other) = LabelClassFactory(), images(3)
    worker = WorkerFactory()
    judged(contains_hit(label, [image, control], roles={control.pk: GOLD}), set(), worker=worker)
    assert repeats_an_item(contains_hit(label, [other, image], roles={image.pk: GOLD}), worker)
    assert not repeats_an_item(contains_hit(label, [other, control], roles={control.pk: GOLD}), worker)
    assert repeats_an_item(contains_hit(label, [other, control]), worker)  # a control shown again as a candidate


def test_classify_items_are_images():
    image, other = images(2)
    worker = WorkerFactory()
    AssignmentFactory(hit=classify_hit({image: [1, 2]}), worker=worker)
    assert repeats_an_item(classify_hit({image: [1, 2], other: [3, 4]}), worker)
    assert not repeats_an_item(classify_hit({other: [3, 4]}), worker)
    assert not repeats_an_item(contains_hit(LabelClassFactory(), [image]), worker)  # another kind of item


def test_a_local_annotator_is_sent_past_hits_that_repeat_their_items():
    label, (shared, fresh) = LabelClassFactory(), images(2)
    user = UserFactory()
    first = contains_hit(label, [shared], provider=Provider.LOCAL)
    repeat = contains_hit(label, [shared], provider=Provider.LOCAL)
    new = contains_hit(label, [fresh], provider=Provider.LOCAL)
    assert next_local_hit(user) == first
    Assignment.objects.filter(pk=resolve_visit(first, {}, user).assignment.pk).update(status="submitted")
    assert next_local_hit(user) == new
    with pytest.raises(VisitError, match="already judged"):
        resolve_visit(repeat, {}, user)


def test_a_local_annotator_is_sent_past_more_repeating_hits_than_the_first_read_holds():
    label, (shared, fresh) = LabelClassFactory(), images(2)
    user = UserFactory()
    first = contains_hit(label, [shared], provider=Provider.LOCAL)
    for _ in range(FIRST_CANDIDATES + 2):
        contains_hit(label, [shared], provider=Provider.LOCAL)
    new = contains_hit(label, [fresh], provider=Provider.LOCAL)
    Assignment.objects.filter(pk=resolve_visit(first, {}, user).assignment.pk).update(status="submitted")
    assert next_local_hit(user) == new


def test_a_link_participant_gets_a_hit_without_their_items():
    label, (shared, fresh) = LabelClassFactory(), images(2)
    first = contains_hit(label, [shared], provider=Provider.LINK)
    batch = first.batch
    repeat = contains_hit(label, [shared], provider=Provider.LINK)
    new = contains_hit(label, [fresh], provider=Provider.LINK)
    for hit in (repeat, new):
        hit.batch = batch
        hit.save()
    Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.PUBLISHED)
    batch.refresh_from_db()
    assert start(batch, "P1").hit == first
    Assignment.objects.filter(hit=first).update(status="submitted")
    assert start(batch, "P1").hit == new
