"""Read one dataset's aggregates from the database into `DatasetArrays` (values_list, no model objects)."""

import numpy as np

from analytics.analyses import NO_LABEL, DatasetArrays
from analytics.models import ClassifyResult, SelectionFrequency
from annotation.models import Dataset, Image, LabelClass
from models_zoo.models import ImageFeature, Prediction

CHUNK = 5000


def load_dataset_arrays(dataset: Dataset) -> DatasetArrays:
    """Everything the analyses need for `dataset`, keyed by image position (images ordered by id)."""
    images = list(
        Image.objects.filter(dataset=dataset).order_by("id").values_list("id", "external_id", "original_label__index")
    )
    ids = np.array([row[0] for row in images], dtype=np.int64)
    position = {image_id: i for i, image_id in enumerate(ids.tolist())}
    original = np.array([NO_LABEL if row[2] is None else row[2] for row in images], dtype=np.int64)
    sf = _selection_frequencies(dataset, position)
    data = DatasetArrays(
        image_ids=ids,
        external_ids=[row[1] for row in images],
        original=original,
        sf_image=sf[:, 0], sf_label=sf[:, 1], sf_selected=sf[:, 2], sf_shown=sf[:, 3],
        **_classify_results(dataset, position, len(images)),
        top1=_top1_predictions(dataset, position, len(images)),
        superclass_of=dict(LabelClass.objects.values_list("index", "superclass")),
        label_names=dict(LabelClass.objects.values_list("index", "name")),
    )
    return data


def _selection_frequencies(dataset: Dataset, position: dict[int, int]) -> np.ndarray:
    rows = SelectionFrequency.objects.filter(image__dataset=dataset).values_list(
        "image_id", "label__index", "n_selected", "n_shown"
    )
    flat = [(position[i], label, k, n) for i, label, k, n in rows.iterator(chunk_size=CHUNK)]
    return np.array(flat, dtype=np.int64).reshape(-1, 4)


def _classify_results(dataset: Dataset, position: dict[int, int], n: int) -> dict:
    out = {
        "has_classify": np.zeros(n, dtype=bool),
        "num_objects": np.zeros(n, dtype=np.int64),
        "num_annotators": np.zeros(n, dtype=np.int64),
        "main_label": np.full(n, NO_LABEL, dtype=np.int64),
        "main_votes": [{} for _ in range(n)],
        "object_groups": [[] for _ in range(n)],
        "main_object": np.full(n, -1, dtype=np.int64),
        "original_object": np.full(n, -1, dtype=np.int64),
    }
    rows = ClassifyResult.objects.filter(image__dataset=dataset).values_list(
        "image_id", "num_objects", "num_annotators", "main_label__index", "main_votes", "object_groups",
        "main_object", "original_object",
    )
    for image_id, objects, annotators, main, votes, groups, main_object, original_object in rows.iterator(
        chunk_size=CHUNK
    ):
        i = position[image_id]
        out["has_classify"][i] = True
        out["num_objects"][i] = objects
        out["num_annotators"][i] = annotators
        out["main_label"][i] = main
        out["main_votes"][i] = {int(k): int(v) for k, v in (votes or {}).items()}
        out["object_groups"][i] = [[int(label) for label in group] for group in (groups or [])]
        out["main_object"][i] = main_object
        out["original_object"][i] = -1 if original_object is None else original_object
    return out


def _top1_predictions(dataset: Dataset, position: dict[int, int], n: int) -> dict[str, np.ndarray]:
    top1: dict[str, np.ndarray] = {}
    rows = Prediction.objects.filter(image__dataset=dataset).values_list("image_id", "model_name", "labels")
    for image_id, model_name, labels in rows.iterator(chunk_size=CHUNK):
        column = top1.setdefault(model_name, np.full(n, NO_LABEL, dtype=np.int64))
        column[position[image_id]] = labels[0] if labels else NO_LABEL
    return top1


def load_features(dataset: Dataset, model_name: str) -> tuple[np.ndarray, np.ndarray]:
    """(image ids, float16 matrix) of the stored features of one model for the dataset."""
    rows = list(
        ImageFeature.objects.filter(image__dataset=dataset, model_name=model_name)
        .order_by("image_id")
        .values_list("image_id", "dim", "vector")
    )
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float16)
    ids = np.array([row[0] for row in rows], dtype=np.int64)
    matrix = np.stack([np.frombuffer(bytes(row[2]), dtype=np.float16, count=row[1]) for row in rows])
    return ids, matrix


def feature_models(dataset: Dataset) -> list[str]:
    return sorted(
        ImageFeature.objects.filter(image__dataset=dataset).values_list("model_name", flat=True).distinct()
    )


def load_topk(dataset: Dataset, image_ids: np.ndarray, k: int = 5) -> dict[str, np.ndarray]:
    """Each model's top-k predictions as an (n, k) array in the order of `image_ids` (-1: none)."""
    position = {image_id: i for i, image_id in enumerate(image_ids.tolist())}
    topk: dict[str, np.ndarray] = {}
    rows = Prediction.objects.filter(image__dataset=dataset).values_list("image_id", "model_name", "labels")
    for image_id, model_name, labels in rows.iterator(chunk_size=CHUNK):
        matrix = topk.get(model_name)
        if matrix is None:
            matrix = topk[model_name] = np.full((len(position), k), NO_LABEL, dtype=np.int64)
        best = labels[:k]
        matrix[position[image_id], :len(best)] = best
    return topk


def prediction_origins(dataset: Dataset) -> dict[str, str]:
    """model name → origin of its predictions on the dataset (ran here | imported)."""
    rows = Prediction.objects.filter(image__dataset=dataset).values_list("model_name", "origin").distinct()
    return dict(rows.order_by("model_name", "origin"))
