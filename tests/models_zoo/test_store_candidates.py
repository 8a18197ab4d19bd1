import pytest

from annotation.models import CandidateLabel
from models_zoo import store
from models_zoo.models import Prediction
from tests.factories import ImageFactory, LabelClassFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def image():
    for index in range(10):
        LabelClassFactory(index=index)
    return ImageFactory(original_label=LabelClassFactory(index=9))


def _rows(image):
    return {
        c.label.index: (c.is_original, c.sources) for c in CandidateLabel.objects.filter(image=image)
    }


def test_it_stores_the_union_with_provenance_and_the_original(image):
    ranked = {image.pk: {"a": [(1, 0.6), (2, 0.3)], "b": [(2, 0.5), (3, 0.2)]}}
    assert store.store_candidates(ranked, topk=2) == (4, 0)
    rows = _rows(image)
    assert rows[2] == (False, [{"model": "b", "rank": 1, "prob": 0.5}, {"model": "a", "rank": 2, "prob": 0.3}])
    assert rows[9] == (True, [])
    assert store.store_candidates(ranked, topk=2) == (0, 0)


def test_it_merges_a_later_model_into_existing_rows(image):
    store.store_candidates({image.pk: {"a": [(1, 0.6), (9, 0.3)]}}, topk=2)
    created, updated = store.store_candidates({image.pk: {"c": [(9, 0.8), (4, 0.1)]}}, topk=2)
    assert (created, updated) == (1, 1)
    assert _rows(image)[9] == (True, [{"model": "c", "rank": 1, "prob": 0.8}, {"model": "a", "rank": 2, "prob": 0.3}])
    assert _rows(image)[1] == (False, [{"model": "a", "rank": 1, "prob": 0.6}])


def test_it_stores_predictions_once_and_extends_shorter_ones(image):
    versions = {"a": "v1"}
    assert store.store_predictions({image.pk: {"a": [(1, 0.6), (2, 0.3)]}}, versions) == 1
    assert store.store_predictions({image.pk: {"a": [(1, 0.6), (2, 0.3)]}}, versions) == 0
    store.store_predictions({image.pk: {"a": [(1, 0.6), (2, 0.3), (3, 0.05)]}}, {"a": "v2"})
    prediction = Prediction.objects.get(image=image)
    assert prediction.labels == [1, 2, 3] and prediction.model_version == "v2"


def test_it_skips_the_original_when_the_image_has_none():
    for index in range(3):
        LabelClassFactory(index=index)
    image = ImageFactory(original_label=None)
    store.store_candidates({image.pk: {"a": [(1, 0.6)]}}, topk=5)
    assert list(CandidateLabel.objects.filter(image=image).values_list("is_original", flat=True)) == [False]
