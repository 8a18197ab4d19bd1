"""/api/v1/predictions/: labels and probabilities as JSON lists, whatever the database stores them as."""

import pytest
import yaml
from django.urls import reverse
from rest_framework.test import APIClient

from models_zoo.models import Prediction, PredictionOrigin
from tests.factories import DatasetFactory, ImageFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_it_lists_each_prediction_with_its_labels_and_probabilities():
    image = ImageFactory(dataset=DatasetFactory(name="val"), external_id="a.jpg")
    Prediction.objects.create(image=image, model_name="m", labels=[5, 2, 9], probs=[0.7, 0.2, 0.1],
                              origin=PredictionOrigin.IMPORTED)
    client = APIClient()
    client.force_authenticate(UserFactory(is_staff=True))
    rows = client.get(reverse("analytics:prediction-list"), {"dataset": "val", "model": "m"}).json()["results"]
    assert [(r["image"], r["labels"], r["probs"], r["origin"]) for r in rows] == [
        ("a.jpg", [5, 2, 9], [0.7, 0.2, 0.1], "imported")
    ]


def test_the_schema_says_they_are_lists_of_numbers(client):
    schema = yaml.safe_load(client.get(reverse("analytics:schema")).content)
    fields = schema["components"]["schemas"]["Prediction"]["properties"]
    assert fields["labels"] == {"type": "array", "items": {"type": "integer"}, "readOnly": True,
                                "description": "Top-k, best first"}
    assert fields["probs"]["items"] == {"type": "number", "format": "double"}
