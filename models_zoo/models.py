"""Model outputs: per-image top-k predictions, pooled features, and the chunks of proposal work."""

from django.db import models

from relabel.fields import PackedArrayField

LABELS_DTYPE = ">i4"  # taxonomy indices, big-endian int32
PROBS_DTYPE = ">f8"  # probabilities, big-endian float64: the file's numbers exactly


class PredictionOrigin(models.TextChoices):
    RAN_HERE = "ran", "Ran here"
    IMPORTED = "imported", "Imported from a file"


class Prediction(models.Model):
    """A model's top-k on one image, written in bulk (100,000s of rows per import or proposal run).

    Three choices keep a row cheap to write (docs/benchmarks.md, "Prediction import"):
    - labels and probabilities are packed numbers (`bytea`), not `jsonb`, which PostgreSQL parses;
    - the unique (image, model_name) index also serves lookups by image (its leading column), so the
      foreign key has no index of its own;
    - the foreign key is not a database constraint: PostgreSQL would check it row by row (about
      half of the database's work in an import). Every writer takes image ids from the dataset's
      images in its own transaction, and deleting an image deletes its predictions (Django's
      cascade). Only an image deleted while predictions for it are being written could leave rows
      behind; no query sees them, as every read goes through the image.
    """

    image = models.ForeignKey(
        "annotation.Image", on_delete=models.CASCADE, related_name="predictions", db_index=False,
        db_constraint=False,
    )
    model_name = models.CharField(max_length=100)
    model_version = models.CharField(max_length=100, blank=True)
    labels = PackedArrayField(dtype=LABELS_DTYPE, help_text="Top-k taxonomy indices, best first")
    probs = PackedArrayField(
        dtype=PROBS_DTYPE, help_text="Softmax probabilities matching `labels` (empty when imported without)"
    )
    origin = models.CharField(max_length=8, choices=PredictionOrigin.choices, db_default=PredictionOrigin.RAN_HERE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["image", "model_name"], name="unique_prediction_per_model"),
        ]

    def __str__(self) -> str:
        return f"{self.model_name} on {self.image_id}: {self.labels}"


class ImageFeature(models.Model):
    """Pooled penultimate features of one model for one image (float16 bytes, L2-normalised)."""

    image = models.ForeignKey("annotation.Image", on_delete=models.CASCADE, related_name="features")
    model_name = models.CharField(max_length=100)
    dim = models.PositiveIntegerField()
    vector = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["image", "model_name"], name="unique_feature_per_model"),
        ]

    def __str__(self) -> str:
        return f"{self.model_name} features of {self.image_id} ({self.dim})"


class ChunkStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class InferenceChunk(models.Model):
    """A slice of a dataset to run some models on; claimed by one worker at a time under a lease.

    A worker claims a chunk with a conditional UPDATE (pending, or running with an expired lease),
    renews the lease while it works, and writes results only while it still holds the claim token.
    """

    dataset = models.ForeignKey("annotation.Dataset", on_delete=models.CASCADE, related_name="inference_chunks")
    model_names = models.JSONField(help_text="Model names to run, in ensemble order")
    topk = models.PositiveSmallIntegerField()
    image_ids = models.JSONField()
    status = models.CharField(max_length=16, choices=ChunkStatus.choices, default=ChunkStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    claimed_by = models.CharField(max_length=255, blank=True)
    claim_token = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    failed_images = models.JSONField(default=list, help_text="Ids of images that could not be decoded")
    predictions_created = models.PositiveIntegerField(default=0)
    candidates_created = models.PositiveIntegerField(default=0)
    candidates_updated = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["dataset", "status"], name="chunk_dataset_status")]

    def __str__(self) -> str:
        return f"chunk {self.pk} of {self.dataset_id} ({self.status}, {len(self.image_ids)} images)"
