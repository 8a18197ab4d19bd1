"""Taxonomy, datasets, images, candidate labels and the raw human responses."""

from django.db import models


class LabelClass(models.Model):
    """One class of the taxonomy (ImageNet-1k: WordNet 3.0 synsets, index in sorted-wnid order)."""

    index = models.PositiveIntegerField(unique=True)
    wnid = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=200)
    lemmas = models.JSONField(default=list)
    definition = models.TextField(blank=True)
    hypernyms = models.JSONField(default=list, help_text="Path from the root: [[wnid, name], ...]")
    wikipedia = models.URLField(max_length=300, blank=True)
    superclass = models.CharField(max_length=64, db_index=True)

    class Meta:
        ordering = ["index"]
        verbose_name = "class"
        verbose_name_plural = "classes"

    def __str__(self) -> str:
        return f"{self.index} {self.name} ({self.wnid})"


class Dataset(models.Model):
    name = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def _image_upload_path(instance: "Image", filename: str) -> str:
    return f"images/{instance.dataset_id}/{instance.sha256[:2]}/{instance.sha256}{_suffix(filename)}"


def _thumbnail_upload_path(instance: "Image", filename: str) -> str:
    return f"thumbnails/{instance.dataset_id}/{instance.sha256[:2]}/{instance.sha256}.jpg"


def _suffix(filename: str) -> str:
    dot = filename.rfind(".")
    return filename[dot:].lower() if dot != -1 else ""


class Image(models.Model):
    """An image of a dataset. `file` is empty for images known only by id (released annotations)."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="images")
    external_id = models.CharField(max_length=255)
    file = models.FileField(upload_to=_image_upload_path, max_length=300, blank=True)
    thumbnail = models.FileField(upload_to=_thumbnail_upload_path, max_length=300, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    original_label = models.ForeignKey(
        LabelClass, on_delete=models.PROTECT, null=True, blank=True, related_name="images"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dataset_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "external_id"], name="unique_image_external_id"),
        ]

    def __str__(self) -> str:
        return f"{self.dataset_id}:{self.external_id}"


class CandidateLabel(models.Model):
    """A label proposed for an image: by models (sources) and/or because it is the original label."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="candidates")
    label = models.ForeignKey(LabelClass, on_delete=models.PROTECT, related_name="+")
    is_original = models.BooleanField(default=False)
    sources = models.JSONField(default=list, help_text='[{"model": name, "rank": 1, "prob": 0.61}, ...]')

    class Meta:
        constraints = [models.UniqueConstraint(fields=["image", "label"], name="unique_candidate")]

    def __str__(self) -> str:
        return f"{self.image_id}→{self.label_id}"


class ContainsJudgment(models.Model):
    """One grid cell of one CONTAINS assignment: did the worker select this image for this label."""

    assignment = models.ForeignKey("tasks.Assignment", on_delete=models.CASCADE, related_name="judgments")
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="contains_judgments")
    label = models.ForeignKey(LabelClass, on_delete=models.PROTECT, related_name="+")
    selected = models.BooleanField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["assignment", "image", "label"], name="unique_judgment"),
        ]

    def __str__(self) -> str:
        return f"assignment {self.assignment_id}: image {self.image_id} {'✓' if self.selected else '✗'} {self.label_id}"


class ClassifyResponse(models.Model):
    """One worker's CLASSIFY answer for one image: the labels of distinct objects and the main one."""

    assignment = models.ForeignKey(
        "tasks.Assignment", on_delete=models.CASCADE, related_name="classify_responses"
    )
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="classify_responses")
    selected = models.JSONField(help_text="Taxonomy indices of the labels selected as distinct objects")
    main_label = models.ForeignKey(LabelClass, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["assignment", "image"], name="unique_classify_response"),
        ]

    def __str__(self) -> str:
        return f"assignment {self.assignment_id}: image {self.image_id} main {self.main_label_id}"
