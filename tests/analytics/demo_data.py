"""A small demo-like dataset, filled the way `make demo` fills one: models' predictions and
features, CONTAINS HITs answered by simulated annotators, aggregation, CLASSIFY HITs for the
follow-up images answered too, and aggregation again."""

import numpy as np

from analytics.models import ImageCategory
from analytics.services import aggregate_dataset
from annotation.models import CandidateLabel, Dataset
from models_zoo.features import encode_vector
from models_zoo.models import ImageFeature, Prediction
from tasks.models import Batch, Hit, HitItem, Provider, TaskKind
from tasks.simulators.annotators import simulate
from tests.factories import DatasetFactory, ImageFactory, LabelClassFactory

SUPERCLASSES = ["Dogs", "Birds", "Vehicles"]
MODELS = ("model_a", "model_b")
WORKERS = 5


def _predictions(image, original: int, other: int, position: int) -> None:
    for model in MODELS:
        wrong = model == "model_b" and position % 3 == 0
        labels = [other, original] if wrong else [original, other]
        Prediction.objects.create(image=image, model_name=model, labels=labels, probs=[0.55, 0.45])
    CandidateLabel.objects.create(image=image, label_id=image.original_label_id, is_original=True,
                                  sources=[{"model": "model_a", "rank": 1, "prob": 0.55}])
    CandidateLabel.objects.create(image=image, label=LabelClassFactory(index=other), sources=[
        {"model": model, "rank": 2, "prob": 0.45} for model in MODELS])


def _contains_hits(dataset: Dataset) -> None:
    batch = Batch.objects.create(dataset=dataset, kind=TaskKind.CONTAINS, provider=Provider.SIMULATED,
                                 reward="0.10", assignments_per_hit=WORKERS)
    by_label: dict[int, list[int]] = {}
    for image_id, label_id in CandidateLabel.objects.filter(image__dataset=dataset).values_list("image_id", "label_id"):
        by_label.setdefault(label_id, []).append(image_id)
    for label_id, image_ids in sorted(by_label.items()):
        hit = Hit.objects.create(batch=batch, label_id=label_id)
        HitItem.objects.bulk_create([HitItem(hit=hit, image_id=i, position=p) for p, i in enumerate(image_ids)])


def _classify_hits(dataset: Dataset) -> None:
    batch = Batch.objects.create(dataset=dataset, kind=TaskKind.CLASSIFY, provider=Provider.SIMULATED,
                                 reward="0.05", assignments_per_hit=WORKERS)
    hit = Hit.objects.create(batch=batch)
    follow_up = ImageCategory.objects.filter(image__dataset=dataset, category=ImageCategory.Category.FOLLOW_UP)
    for position, category in enumerate(follow_up.order_by("image_id")):
        HitItem.objects.create(hit=hit, image_id=category.image_id, position=position, labels=category.labels)


def build_candidates(n_images: int = 18, seed: int = 0) -> Dataset:
    """The demo-like dataset before any crowd work: images, predictions, features, candidate labels."""
    classes = [LabelClassFactory(index=i, superclass=SUPERCLASSES[i % 3]) for i in range(6)]
    dataset = DatasetFactory(name="demo-like")
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(6, 16))
    for i in range(n_images):
        original = i % 6
        image = ImageFactory(dataset=dataset, original_label=classes[original], external_id=f"demo_{i:03d}.jpg")
        _predictions(image, original, (original + 1) % 6, i)
        vector = centres[original] + 0.05 * rng.normal(size=16)
        ImageFeature.objects.create(image=image, model_name="model_a", dim=16, vector=encode_vector(vector))
    return dataset


def build_demo_like(n_images: int = 18, seed: int = 0) -> Dataset:
    dataset = build_candidates(n_images, seed)
    _contains_hits(dataset)
    simulate(dataset.name, TaskKind.CONTAINS, workers=WORKERS, accuracy=0.95, noise=0.1, seed=seed)
    aggregate_dataset(dataset, min_workers=WORKERS)
    _classify_hits(dataset)
    simulate(dataset.name, TaskKind.CLASSIFY, workers=WORKERS, accuracy=0.8, noise=0.1, seed=seed)
    aggregate_dataset(dataset, min_workers=WORKERS)
    return dataset
