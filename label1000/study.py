"""Reading the 1000-way study from the database and recording reviewers' error tags."""

from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from annotation.models import Dataset, Image
from label1000.human_vs_model import HUMAN, ErrorRef, Trial
from label1000.models import ErrorTag, ErrorType, Label1000Response
from models_zoo.models import Prediction
from tasks.quality import counted


class TagError(ValueError):
    """The error to tag does not exist or the types are unknown."""


@dataclass
class Study:
    truths: dict[int, int] = field(default_factory=dict)  # image id → original label index
    human: dict[int, Trial] = field(default_factory=dict)  # response id → trial
    models: dict[str, list[Trial]] = field(default_factory=dict)
    tags: dict[ErrorRef, list[str]] = field(default_factory=dict)


def load_study(dataset: Dataset) -> Study:
    """Evaluated (non-practice, accepted, unflagged) answers, the models' predictions on those images, tags."""
    study = Study()
    responses = Label1000Response.objects.filter(
        counted("assignment__"), image__dataset=dataset, practice=False
    ).order_by("pk")
    for pk, image_id, labels in responses.values_list("pk", "image_id", "labels"):
        study.human[pk] = Trial(image_id, tuple(labels))
    answered = {trial.image for trial in study.human.values()}
    study.truths = dict(
        Image.objects.filter(pk__in=answered, original_label__isnull=False).values_list("pk", "original_label__index")
    )
    for name, image_id, labels in Prediction.objects.filter(image_id__in=answered).order_by(
        "model_name", "image_id"
    ).values_list("model_name", "image_id", "labels"):
        study.models.setdefault(name, []).append(Trial(image_id, tuple(labels)))
    for image_id, response_id, model_name, error_type in ErrorTag.objects.filter(image__dataset=dataset).values_list(
        "image_id", "response_id", "model_name", "error_type"
    ):
        ref = ErrorRef(HUMAN, image_id, response_id) if response_id else ErrorRef(model_name, image_id)
        study.tags.setdefault(ref, []).append(error_type)
    return study


def _check_ref(dataset: Dataset, ref: ErrorRef) -> None:
    if ref.source == HUMAN:
        exists = Label1000Response.objects.filter(pk=ref.response, image_id=ref.image, image__dataset=dataset).exists()
    else:
        exists = Prediction.objects.filter(image_id=ref.image, model_name=ref.source, image__dataset=dataset).exists()
    if not exists:
        raise TagError("no such answer to tag in this dataset")


@transaction.atomic
def set_error_types(dataset: Dataset, ref: ErrorRef, types: list[str], reviewer: AbstractBaseUser) -> None:
    """Replace the types of one error with `types` (possibly none). Idempotent."""
    unknown = sorted(set(types) - set(ErrorType.values))
    if unknown:
        raise TagError(f"unknown error types {unknown}; use {', '.join(ErrorType.values)}")
    _check_ref(dataset, ref)
    if ref.source == HUMAN:
        existing = ErrorTag.objects.filter(response_id=ref.response)
    else:
        existing = ErrorTag.objects.filter(response__isnull=True, image_id=ref.image, model_name=ref.source)
    existing.exclude(error_type__in=types).delete()
    kept = set(existing.values_list("error_type", flat=True))
    ErrorTag.objects.bulk_create([
        ErrorTag(image_id=ref.image, response_id=ref.response, model_name="" if ref.source == HUMAN else ref.source,
                 error_type=error_type, reviewer=reviewer)
        for error_type in sorted(set(types) - kept)
    ], ignore_conflicts=True)
