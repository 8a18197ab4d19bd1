"""Aggregates recomputed from raw judgments: selection frequencies and CLASSIFY results."""

from django.db import models


class SelectionFrequency(models.Model):
    image = models.ForeignKey("annotation.Image", on_delete=models.CASCADE, related_name="selection_frequencies")
    label = models.ForeignKey("annotation.LabelClass", on_delete=models.PROTECT, related_name="+")
    n_selected = models.PositiveIntegerField()
    n_shown = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["image", "label"], name="unique_sf")]

    @property
    def sf(self) -> float:
        return self.n_selected / self.n_shown if self.n_shown else 0.0


class ClassifyResult(models.Model):
    image = models.OneToOneField("annotation.Image", on_delete=models.CASCADE, related_name="classify_result")
    num_annotators = models.PositiveIntegerField()
    num_objects = models.PositiveIntegerField()
    main_label = models.ForeignKey("annotation.LabelClass", on_delete=models.PROTECT, related_name="+")
    main_votes = models.JSONField(default=dict)
    object_groups = models.JSONField(default=list, help_text="Labels split into one group per object")
    main_object = models.PositiveIntegerField()
    original_object = models.IntegerField(null=True, blank=True)
    original_object_main_share = models.FloatField(null=True, blank=True)


class ImageCategory(models.Model):
    """Where an image stands after CONTAINS: easy, mislabeled, follow-up (CLASSIFY) or ambiguous.

    `labels` are the confident labels (SF >= sf_ratio x SF of the original label), taxonomy indices.
    """

    class Category(models.TextChoices):
        EASY = "easy", "Only the original label is confident"
        MIS = "mis", "No worker selected the original label"
        FOLLOW_UP = "fu", "Several confident labels: CLASSIFY needed"
        AMBIGUOUS = "amb", "Too few workers"

    image = models.OneToOneField("annotation.Image", on_delete=models.CASCADE, related_name="category")
    category = models.CharField(max_length=4, choices=Category.choices, db_index=True)
    labels = models.JSONField(default=list)
    sf_ratio = models.FloatField()
    min_workers = models.PositiveIntegerField()
