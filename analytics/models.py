"""Aggregates recomputed from raw judgments: selection frequencies and CLASSIFY results."""

from django.conf import settings
from django.db import models


class SelectionFrequency(models.Model):
    """n_selected of n_shown accepted workers selected the image for the label (CONTAINS).

    A derived table, rebuilt per dataset by one INSERT ... SELECT from judgments whose foreign keys
    are already enforced; its own foreign keys are therefore not database constraints (that would
    cost two trigger checks per row, a million pairs per rebuild) and Django handles the cascade.
    The primary key is the pair itself: one index per row to maintain, where a surrogate id, its
    sequence, a unique (image, label) index and a label index cost 2.5 times as long to insert a
    dataset's million pairs (docs/benchmarks.md). Its leading column serves lookups by image; the
    PROTECT check when a label class is deleted (rare) scans the table instead of an index.
    """

    pk = models.CompositePrimaryKey("image", "label")
    image = models.ForeignKey(
        "annotation.Image", on_delete=models.CASCADE, related_name="selection_frequencies",
        db_constraint=False, db_index=False,
    )
    label = models.ForeignKey(
        "annotation.LabelClass", on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False,
    )
    n_selected = models.PositiveIntegerField()
    n_shown = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"SF {self.image_id}/{self.label_id} = {self.n_selected}/{self.n_shown}"

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
    num_objects_tied = models.BooleanField(default=False, help_text="The most common number of objects was tied")
    main_label_tied = models.BooleanField(default=False, help_text="The most common main label was tied")

    def __str__(self) -> str:
        return f"CLASSIFY result of image {self.image_id}"


class ImageCategory(models.Model):
    """Where an image stands after CONTAINS: easy, mislabeled, follow-up (CLASSIFY) or ambiguous.

    `labels` are the confident labels (SF >= sf_ratio x SF of the original label), taxonomy indices.
    Derived like SelectionFrequency (written by aggregation from the dataset's own images), so its
    image key is no database constraint either: the deferred check of 50,000 new rows took 0.3 s
    of a first build at commit; Django still cascades when an image is deleted.
    """

    class Category(models.TextChoices):
        EASY = "easy", "Only the original label is confident"
        MIS = "mis", "No worker selected the original label"
        FOLLOW_UP = "fu", "Several confident labels: CLASSIFY needed"
        AMBIGUOUS = "amb", "Too few workers"

    image = models.OneToOneField(
        "annotation.Image", on_delete=models.CASCADE, related_name="category", db_constraint=False,
    )
    category = models.CharField(max_length=4, choices=Category.choices, db_index=True)
    labels = models.JSONField(default=list)
    sf_ratio = models.FloatField()
    min_workers = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"image {self.image_id}: {self.category}"


class JobRun(models.Model):
    """A long job launched from the dashboard (candidates, aggregation) and its progress."""

    class Kind(models.TextChoices):
        CANDIDATES = "candidates", "Propose candidate labels"
        AGGREGATE = "aggregate", "Aggregate judgments"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    dataset = models.ForeignKey("annotation.Dataset", on_delete=models.CASCADE, related_name="job_runs")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.FloatField(default=0.0, help_text="0..1")
    message = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last sign of life of the running job")
    finished_at = models.DateTimeField(null=True, blank=True)
    chunk_ids = models.JSONField(
        null=True, blank=True,
        help_text="Candidates on Celery: the queued inference chunks that watch_jobs waits on (no worker waits)",
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} on {self.dataset_id} ({self.status})"


class DatasetAccess(models.Model):
    """Read permission on one dataset's data over the API for a non-staff user (e.g. a researcher)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dataset_access")
    dataset = models.ForeignKey("annotation.Dataset", on_delete=models.CASCADE, related_name="access")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "dataset"], name="unique_dataset_access")]
        verbose_name_plural = "dataset access"

    def __str__(self) -> str:
        return f"{self.user_id} reads {self.dataset_id}"


class ApiToken(models.Model):
    """An API token scoped to one dataset: it reads that dataset only, and only while its user may.

    Only the SHA-256 of the key is stored; the key itself is shown once, at creation.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    dataset = models.ForeignKey("annotation.Dataset", on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"token {self.name or self.pk} for {self.dataset_id}"
