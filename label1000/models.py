"""The 1000-way study's records: answers and reviewers' error tags (tables keep their annotation_* names)."""

from django.conf import settings
from django.db import models

from annotation.models import Image


class Label1000Response(models.Model):
    """One expert's 1000-way answer for one image: up to 5 taxonomy indices, most likely first."""

    assignment = models.ForeignKey(
        "tasks.Assignment", on_delete=models.CASCADE, related_name="label1000_responses"
    )
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="label1000_responses")
    labels = models.JSONField(help_text="Up to 5 taxonomy indices in the annotator's order, best first")
    practice = models.BooleanField(default=False, help_text="Answered in practice mode: not an evaluation")
    seconds_spent = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "annotation_label1000response"
        constraints = [
            models.UniqueConstraint(fields=["assignment", "image"], name="unique_label1000_response"),
        ]

    def __str__(self) -> str:
        return f"label1000 {self.assignment_id}/{self.image_id}: {self.labels}"


class ErrorType(models.TextChoices):
    """Error categories of the ILSVRC human-vs-ConvNet study (Russakovsky et al. 2015, section 6.4)."""

    MULTIPLE_OBJECTS = "multiple_objects", "Multiple objects"
    INCORRECT_ANNOTATION = "incorrect_annotation", "Incorrect annotation"
    SMALL_OR_THIN = "small_or_thin", "Small or thin object"
    IMAGE_FILTER = "image_filter", "Image filter"
    ABSTRACT = "abstract", "Abstract representation"
    FINE_GRAINED = "fine_grained", "Fine-grained recognition"
    CLASS_UNAWARENESS = "class_unawareness", "Class unawareness"
    INSUFFICIENT_EXAMPLES = "insufficient_examples", "Insufficient training examples"
    OTHER = "other", "Other"


class ErrorTag(models.Model):
    """A reviewer's verdict on why one top-5 error happened: a human response's or a model's.

    A human error points at its response; a model error at (image, model_name), which survives
    re-running inference. One error may carry several types, one row each.
    """

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="error_tags")
    response = models.ForeignKey(
        Label1000Response, on_delete=models.CASCADE, null=True, blank=True, related_name="error_tags"
    )
    model_name = models.CharField(max_length=100, blank=True, help_text="Set for a model's error")
    error_type = models.CharField(max_length=32, choices=ErrorType.choices)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "annotation_errortag"
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(response__isnull=False, model_name="")
                           | models.Q(response__isnull=True) & ~models.Q(model_name="")),
                name="error_tag_human_xor_model",
            ),
            models.UniqueConstraint(
                fields=["response", "error_type"], condition=models.Q(response__isnull=False),
                name="unique_human_error_tag",
            ),
            models.UniqueConstraint(
                fields=["image", "model_name", "error_type"], condition=models.Q(response__isnull=True),
                name="unique_model_error_tag",
            ),
        ]

    def __str__(self) -> str:
        who = f"response {self.response_id}" if self.response_id else self.model_name
        return f"{self.error_type} ({who}, image {self.image_id})"
