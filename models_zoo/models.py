"""Model outputs: per-image top-k predictions, pooled features, and the chunks of proposal work."""

from django.db import models


class Prediction(models.Model):
    image = models.ForeignKey("annotation.Image", on_delete=models.CASCADE, related_name="predictions")
    model_name = models.CharField(max_length=100)
    model_version = models.CharField(max_length=100, blank=True)
    labels = models.JSONField(help_text="Top-k taxonomy indices, best first")
    probs = models.JSONField(help_text="Softmax probabilities matching `labels`")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["image", "model_name"], name="unique_prediction_per_model"),
        ]


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
