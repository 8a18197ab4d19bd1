from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.taxonomy import load_taxonomy
from models_zoo import chunks as services
from models_zoo import store
from models_zoo.models import ChunkStatus, ImageFeature, InferenceChunk, Prediction
from tests.factories import DatasetFactory, ImageFactory

pytestmark = pytest.mark.django_db

MODELS = ["efficientnet_lite0", "efficientnet_lite1"]


@pytest.fixture
def dataset(settings):
    settings.RELABEL_FEATURE_MODEL = "efficientnet_lite0"
    load_taxonomy()
    dataset = DatasetFactory(name="plan")
    for _ in range(5):
        ImageFactory(dataset=dataset, file="images/x.jpg", original_label=None)
    ImageFactory(dataset=dataset, file="", original_label=None)
    return dataset


def _done(image, name, labels=5):
    Prediction.objects.create(image=image, model_name=name, labels=list(range(labels)), probs=[0.1] * labels)


def test_it_chunks_every_image_with_a_file(dataset):
    plan = services.plan_proposal(dataset, MODELS, topk=5, chunk_size=2)
    chunks = list(InferenceChunk.objects.order_by("pk"))
    assert plan.new_chunks == 3 and plan.images_to_process == 5 and plan.images_without_file == 1
    assert [len(c.image_ids) for c in chunks] == [2, 2, 1]
    assert all(c.model_names == MODELS and c.status == ChunkStatus.PENDING for c in chunks)


def test_it_plans_only_the_missing_models_per_image(dataset):
    images = list(dataset.images.exclude(file=""))
    for image in images:
        _done(image, "efficientnet_lite0")
        ImageFeature.objects.create(image=image, model_name="efficientnet_lite0", dim=2, vector=b"\0" * 4)
    _done(images[0], "efficientnet_lite1")
    ImageFeature.objects.filter(image=images[1]).delete()
    services.plan_proposal(dataset, MODELS, topk=5, chunk_size=10)
    plans = {tuple(c.model_names): c.image_ids for c in InferenceChunk.objects.all()}
    assert plans == {
        ("efficientnet_lite0", "efficientnet_lite1"): [images[1].pk],
        ("efficientnet_lite1",): [i.pk for i in images[2:]],
    }


def test_it_replans_predictions_holding_fewer_labels_than_topk(dataset):
    for image in dataset.images.exclude(file=""):
        _done(image, "efficientnet_lite1", labels=5)
    services.plan_proposal(dataset, ["efficientnet_lite1"], topk=5)
    assert not InferenceChunk.objects.exists()
    plan = services.plan_proposal(dataset, ["efficientnet_lite1"], topk=10)
    assert plan.images_to_process == 5


def test_it_requeues_open_chunks_instead_of_duplicating_them(dataset):
    first = services.plan_proposal(dataset, MODELS, topk=5, chunk_size=3)
    InferenceChunk.objects.filter(pk=first.chunk_ids[0]).update(
        status=ChunkStatus.RUNNING, lease_until=timezone.now() + timedelta(minutes=5)
    )
    InferenceChunk.objects.filter(pk=first.chunk_ids[1]).update(
        status=ChunkStatus.RUNNING, lease_until=timezone.now() - timedelta(minutes=5)
    )
    again = services.plan_proposal(dataset, MODELS, topk=5, chunk_size=3)
    assert again.new_chunks == 0 and again.chunk_ids == [first.chunk_ids[1]]
    assert InferenceChunk.objects.count() == 2


def test_it_refuses_a_bad_topk_or_an_empty_taxonomy(dataset):
    with pytest.raises(store.ProposalError, match="--topk"):
        services.plan_proposal(dataset, MODELS, topk=0)
    dataset.images.all().delete()
    from annotation.models import LabelClass

    LabelClass.objects.all().delete()
    with pytest.raises(store.ProposalError, match="load_taxonomy"):
        services.plan_proposal(dataset, MODELS, topk=5)
