"""A populated site whose every user-controlled string is an XSS payload, and the people who attack it.

Built once per test: a demo-like dataset (predictions, CONTAINS and CLASSIFY answers, aggregates),
a 1000-way study with responses and error tags, local HITs of every kind, a link-provider batch,
an annotator, a second annotator, staff, a superuser and a dataset-scoped API token.
"""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from rest_framework.authtoken.models import Token

from analytics.access import create_scoped_token
from annotation.models import Dataset, Image, LabelClass
from label1000.models import ErrorTag, ErrorType, Label1000Response
from models_zoo.models import Prediction
from tasks.models import (
    Assignment,
    AssignmentTransition,
    Batch,
    Bonus,
    GoldLabel,
    Hit,
    HitItem,
    Provider,
    TaskKind,
    Worker,
)
from tests.analytics.demo_data import build_demo_like
from tests.factories import AssignmentFactory, BatchFactory, HitFactory, UserFactory, WorkerFactory

SCRIPT = "</script><script>alert(1)</script>"
ATTRIBUTE = '"><img src=x onerror=alert(1)>'
PAYLOAD = SCRIPT + ATTRIBUTE
LIVE_MARKUP = ("<script>alert(1)", "<img src=x")
ESCAPED_FORMS = ("&lt;script&gt;alert(1)", "\\u003Cscript\\u003Ealert(1)", "&lt;img src=x")


def assert_inert(html: str, where: str, shown: bool = True) -> None:
    """The payload never appears as live markup; with `shown`, it does appear (escaped), so the check is real."""
    for live in LIVE_MARKUP:
        assert live not in html, f"{where}: live markup {live!r} in the page"
    assert not shown or any(form in html for form in ESCAPED_FORMS), f"{where}: the payload is not on the page at all"


@dataclass
class World:
    dataset: Dataset  # slug name (used in URLs), payloads in everything else
    contains_hit: Hit
    classify_hit: Hit
    label1000_hit: Hit
    link_batch: Batch
    image: Image
    annotator: AbstractBaseUser
    other_annotator: AbstractBaseUser
    staff: AbstractBaseUser
    superuser: AbstractBaseUser
    staff_token: str
    scoped_token: str
    annotator_token: str
    other_assignment: Assignment  # the other annotator's submitted assignment


def _poison_demo(dataset: Dataset) -> None:
    for label in LabelClass.objects.all():
        label.name = f"{PAYLOAD} {label.index}"
        label.definition = PAYLOAD
        label.lemmas = [PAYLOAD]
        label.hypernyms = [["n00001740", PAYLOAD], [label.wnid, label.name]]
        label.save()
    for image in Image.objects.filter(dataset=dataset):
        image.external_id = f"{PAYLOAD}{image.pk}.jpg"
        image.file = f"images/{image.pk}.jpg"
        image.thumbnail = f"thumbnails/{image.pk}.jpg"
        image.save()
    Prediction.objects.filter(image__dataset=dataset, model_name="model_b").update(model_name=PAYLOAD[:100])
    for worker in Worker.objects.all():
        worker.external_id = f"{PAYLOAD}{worker.pk}"
        worker.save()
    Batch.objects.filter(dataset=dataset).update(name=PAYLOAD)
    dataset.description = PAYLOAD
    dataset.save()


def _label1000_study(dataset: Dataset, reviewer: AbstractBaseUser) -> Hit:
    images = list(Image.objects.filter(dataset=dataset).order_by("pk")[:3])
    hit = HitFactory(batch=BatchFactory(dataset=dataset, kind=TaskKind.LABEL1000, provider=Provider.LOCAL,
                                        name=PAYLOAD), status=Hit.Status.PUBLISHED)
    HitItem.objects.bulk_create([HitItem(hit=hit, image=image, position=n) for n, image in enumerate(images)])
    done = AssignmentFactory(hit=hit, status=Assignment.Status.SUBMITTED)
    wrong = (images[0].original_label.index + 1) % 6
    response = Label1000Response.objects.create(assignment=done, image=images[0], labels=[wrong])
    ErrorTag.objects.create(image=images[0], response=response, error_type=ErrorType.OTHER, reviewer=reviewer)
    return hit


def _local_hit(dataset: Dataset, kind: str) -> Hit:
    images = list(Image.objects.filter(dataset=dataset).order_by("pk")[3:5])
    batch = BatchFactory(dataset=dataset, kind=kind, provider=Provider.LOCAL, assignments_per_hit=2, name=PAYLOAD)
    label = images[0].original_label if kind == TaskKind.CONTAINS else None
    hit = HitFactory(batch=batch, label=label, status=Hit.Status.PUBLISHED)
    labels = [image.original_label.index for image in images] if kind == TaskKind.CLASSIFY else []
    HitItem.objects.bulk_create([
        HitItem(hit=hit, image=image, position=n, labels=labels) for n, image in enumerate(images)
    ])
    return hit


def _money_and_feedback(hit: Hit, worker: Worker) -> Assignment:
    assignment = AssignmentFactory(hit=hit, worker=worker, status=Assignment.Status.SUBMITTED,
                                   provider_assignment_id=f"{PAYLOAD}"[:128])
    AssignmentTransition.objects.create(assignment=assignment, from_status="submitted", to_status="rejected",
                                        note=PAYLOAD)
    Bonus.objects.create(assignment=assignment, amount="1.00", reason=PAYLOAD, token="sec-bonus-1")
    GoldLabel.objects.create(image=hit.items.first().image, label=hit.label, is_positive=True, note=PAYLOAD)
    return assignment


def _link_batch(dataset: Dataset) -> Batch:
    batch = BatchFactory(dataset=dataset, provider=Provider.LINK, status=Batch.Status.PUBLISHED, name=PAYLOAD,
                         options={"completion_code": "CODE1234", "link_completion_url": f"https://x.example/{PAYLOAD}"})
    image = Image.objects.filter(dataset=dataset).order_by("pk")[5]
    hit = HitFactory(batch=batch, label=image.original_label, status=Hit.Status.PUBLISHED)
    HitItem.objects.create(hit=hit, image=image, position=0)
    return batch


def build_world() -> World:
    dataset = build_demo_like()
    staff = UserFactory(username="staff", is_staff=True)
    annotator = UserFactory(username="annotator")
    other = UserFactory(username="other-annotator")
    _poison_demo(dataset)
    label1000_hit = _label1000_study(dataset, staff)
    contains_hit = _local_hit(dataset, TaskKind.CONTAINS)
    classify_hit = _local_hit(dataset, TaskKind.CLASSIFY)
    other_worker = WorkerFactory(provider=Provider.LOCAL, external_id=other.username, user=other)
    WorkerFactory(provider=Provider.LOCAL, external_id=annotator.username, user=annotator)
    other_assignment = _money_and_feedback(contains_hit, other_worker)
    return World(
        dataset=dataset, contains_hit=contains_hit, classify_hit=classify_hit,
        label1000_hit=label1000_hit, link_batch=_link_batch(dataset),
        image=Image.objects.filter(dataset=dataset).order_by("pk").first(),
        annotator=annotator, other_annotator=other, staff=staff,
        superuser=UserFactory(username="root", is_staff=True, is_superuser=True),
        staff_token=Token.objects.create(user=staff).key,
        scoped_token=create_scoped_token(staff, dataset, name=PAYLOAD[:100]),
        annotator_token=Token.objects.create(user=annotator).key,
        other_assignment=other_assignment,
    )
