"""Similar images: nearest neighbours over the stored feature vectors."""

from __future__ import annotations

from django.conf import settings

from annotation.models import Image
from models_zoo.features import decode_vectors, nearest_neighbours
from models_zoo.models import ImageFeature


def similar_images(image: Image, k: int = 10, model_name: str | None = None) -> list[tuple[int, float]]:
    """The k images of the same dataset whose stored features are closest to `image`'s.

    Returns (image id, cosine similarity), best first; [] when the image has no stored feature.
    """
    name = model_name or settings.RELABEL_FEATURE_MODEL
    rows = list(
        ImageFeature.objects.filter(image__dataset_id=image.dataset_id, model_name=name)
        .order_by("image_id")
        .values_list("image_id", "dim", "vector")
    )
    ids = [image_id for image_id, _, _ in rows]
    if image.pk not in ids:
        return []
    vectors = decode_vectors([vector for _, _, vector in rows], rows[0][1])
    row = ids.index(image.pk)
    return [(ids[i], score) for i, score in nearest_neighbours(vectors[row], vectors, k, exclude=row)]
