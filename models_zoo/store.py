"""Storing inference results: predictions, feature vectors and candidate labels (idempotent bulk writes)."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.utils import timezone

from annotation.models import CandidateLabel, Image, LabelClass
from models_zoo import ensemble
from models_zoo.models import ImageFeature, Prediction
from relabel.bulk import insert_ignoring_conflicts


class ProposalError(ValueError):
    """Candidate proposal cannot run as asked; the message says why and what to do."""


def store_predictions(ranked: dict[int, dict[str, list[tuple[int, float]]]], versions: dict[str, str]) -> int:
    """Write Prediction rows; an existing row is replaced only if it holds fewer labels. Returns #new."""
    existing = {
        (p.image_id, p.model_name): p
        for p in Prediction.objects.filter(image_id__in=list(ranked), model_name__in=list(versions))
    }
    new, changed = [], []
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    pack_labels, pack_probs = (Prediction._meta.get_field(name).pack for name in ("labels", "probs"))
    for image_id, by_model in ranked.items():
        for name, pairs in by_model.items():
            labels = [int(label) for label, _ in pairs]
            probs = [ensemble.rounded_prob(prob) for _, prob in pairs]
            row = existing.get((image_id, name))
            if row is None:
                new.append((image_id, name, versions[name], pack_labels(labels), pack_probs(probs), now))
            elif len(row.labels) < len(labels):
                row.labels, row.probs, row.model_version = labels, probs, versions[name]
                changed.append(row)
    columns = ["image_id", "model_name", "model_version", "labels", "probs", "created_at"]
    insert_ignoring_conflicts(Prediction, columns, new)
    Prediction.objects.bulk_update(changed, ["labels", "probs", "model_version"])
    return len(new)


def store_features(vectors: dict[int, bytes], dim: int) -> None:
    """Write the feature model's vectors (one row per image; existing rows are kept)."""
    name = settings.RELABEL_FEATURE_MODEL
    rows = [(image_id, name, dim, blob) for image_id, blob in vectors.items()]
    insert_ignoring_conflicts(ImageFeature, ["image_id", "model_name", "dim", "vector"], rows)


def store_candidates(ranked: dict[int, dict[str, list[tuple[int, float]]]], topk: int) -> tuple[int, int]:
    """Merge each image's top-k union (and original label) into CandidateLabel rows.

    Returns (created, updated). Rows are never deleted: people may already have judged them.
    """
    label_pk = dict(LabelClass.objects.values_list("index", "pk"))
    label_index = {pk: index for index, pk in label_pk.items()}
    originals = dict(Image.objects.filter(pk__in=list(ranked)).values_list("pk", "original_label_id"))
    existing = {
        (c.image_id, c.label_id): c for c in CandidateLabel.objects.filter(image_id__in=list(ranked))
    }
    new, changed = [], []
    for image_id, by_model in ranked.items():
        original = label_index.get(originals.get(image_id))
        for candidate in ensemble.union_topk(by_model, original, topk):
            if candidate.label not in label_pk:
                raise ProposalError(f"label {candidate.label} is not in the taxonomy: run load_taxonomy")
            key = (image_id, label_pk[candidate.label])
            row = existing.get(key)
            if row is None:
                new.append((*key, candidate.is_original, ensemble.sources_json(candidate.sources)))
                continue
            merged = ensemble.merge_sources(row.sources, candidate.sources)
            is_original = row.is_original or candidate.is_original
            if merged != row.sources or is_original != row.is_original:
                row.sources, row.is_original = merged, is_original
                changed.append(row)
    columns = ["image_id", "label_id", "is_original", "sources"]
    insert_ignoring_conflicts(CandidateLabel, columns, new, json_columns={"sources"})
    CandidateLabel.objects.bulk_update(changed, ["sources", "is_original"])
    return len(new), len(changed)
