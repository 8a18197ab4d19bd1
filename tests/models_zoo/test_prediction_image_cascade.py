"""Prediction.image is not a database constraint (row-by-row checks cost half an import), so the
cascade that keeps predictions from outliving their image is Django's: it must still happen."""

import pytest

from models_zoo.models import Prediction
from tests.factories import DatasetFactory, ImageFactory

pytestmark = pytest.mark.django_db


def test_deleting_an_image_or_its_dataset_deletes_its_predictions():
    dataset, other = DatasetFactory(), DatasetFactory()
    first, second, elsewhere = ImageFactory(dataset=dataset), ImageFactory(dataset=dataset), ImageFactory(dataset=other)
    for image in (first, second, elsewhere):
        Prediction.objects.create(image=image, model_name="m", labels=[1])
    first.delete()
    assert set(Prediction.objects.values_list("image_id", flat=True)) == {second.pk, elsewhere.pk}
    dataset.delete()
    assert list(Prediction.objects.values_list("image_id", flat=True)) == [elsewhere.pk]
