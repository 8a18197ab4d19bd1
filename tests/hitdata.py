"""Small builders of HITs, assignments and responses shared by the task, annotation and analytics tests."""

from annotation.models import ContainsJudgment, Image, LabelClass
from tasks.models import Assignment, Hit, HitItem, Provider, TaskKind, Worker
from tests.factories import AssignmentFactory, BatchFactory, HitFactory, ImageFactory, WorkerFactory


def contains_hit(
    label: LabelClass, images: list[Image], *, provider: str = Provider.SIMULATOR,
    roles: dict[int, str] | None = None, status: str = Hit.Status.PUBLISHED,
) -> Hit:
    """A CONTAINS HIT showing `images` for `label`; `roles` maps image pk → gold role."""
    batch = BatchFactory(dataset=images[0].dataset, kind=TaskKind.CONTAINS, provider=provider)
    hit = HitFactory(batch=batch, label=label, status=status)
    roles = roles or {}
    HitItem.objects.bulk_create([
        HitItem(hit=hit, image=image, position=position, role=roles.get(image.pk, HitItem.Role.CANDIDATE))
        for position, image in enumerate(images)
    ])
    return hit


def classify_hit(offers: dict[Image, list[int]], *, provider: str = Provider.SIMULATOR) -> Hit:
    """A CLASSIFY HIT offering, for each image, the given label indices."""
    first = next(iter(offers))
    batch = BatchFactory(dataset=first.dataset, kind=TaskKind.CLASSIFY, provider=provider)
    hit = HitFactory(batch=batch, status=Hit.Status.PUBLISHED)
    HitItem.objects.bulk_create([
        HitItem(hit=hit, image=image, position=position, labels=labels)
        for position, (image, labels) in enumerate(offers.items())
    ])
    return hit


def judged(
    hit: Hit, selected: set[Image], *, worker: Worker | None = None,
    status: str = Assignment.Status.SUBMITTED, flagged: bool = False,
) -> Assignment:
    """A finished assignment of a CONTAINS HIT that selected exactly `selected`."""
    assignment = AssignmentFactory(hit=hit, worker=worker or WorkerFactory(), status=status, flagged=flagged)
    ContainsJudgment.objects.bulk_create([
        ContainsJudgment(assignment=assignment, image=item.image, label=hit.label, selected=item.image in selected)
        for item in hit.items.select_related("image")
    ])
    return assignment


def images(count: int, **kwargs) -> list[Image]:
    return [ImageFactory(**kwargs) for _ in range(count)]
