"""PackedArrayField: lists in Python, packed big-endian numbers in the database (Prediction uses it)."""

import numpy as np
import pytest
from django.core import serializers
from django.db import connection, transaction

from models_zoo.models import Prediction
from relabel.fields import PackedArrayField
from tests.factories import ImageFactory

pytestmark = pytest.mark.django_db

PROBS = [0.1, 0.30000000000000004, 5e-324, 1.0]


def stored_bytes(prediction: Prediction) -> tuple[bytes, bytes]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT labels, probs FROM {Prediction._meta.db_table} WHERE id = %s",  # noqa: S608
                       [prediction.pk])
        return tuple(bytes(value) for value in cursor.fetchone())


def test_it_reads_back_the_lists_it_was_given_exactly():
    prediction = Prediction.objects.create(image=ImageFactory(), model_name="m", labels=[999, 0, 2**31 - 1],
                                           probs=PROBS)
    prediction.refresh_from_db()
    assert (prediction.labels, prediction.probs) == ([999, 0, 2**31 - 1], PROBS)
    assert list(Prediction.objects.values_list("labels", "probs")) == [([999, 0, 2**31 - 1], PROBS)]


def test_it_stores_big_endian_int32_and_float64():
    prediction = Prediction.objects.create(image=ImageFactory(), model_name="m", labels=[1, 258], probs=[0.5, 0.25])
    assert stored_bytes(prediction) == (b"\0\0\0\x01\0\0\x01\x02", np.array([0.5, 0.25], dtype=">f8").tobytes())
    assert np.frombuffer(stored_bytes(prediction)[0], dtype=">i4").tolist() == [1, 258]


def test_an_empty_list_is_no_bytes_and_the_default():
    prediction = Prediction.objects.create(image=ImageFactory(), model_name="m", labels=[3])
    prediction.refresh_from_db()
    assert prediction.probs == [] and stored_bytes(prediction)[1] == b""


def test_numpy_arrays_are_taken_as_lists():
    prediction = Prediction.objects.create(image=ImageFactory(), model_name="m",
                                           labels=np.array([4, 5], dtype=np.int16),
                                           probs=np.array([0.5, 0.5], dtype=np.float32))
    prediction.refresh_from_db()
    assert (prediction.labels, prediction.probs) == ([4, 5], [0.5, 0.5])


@pytest.mark.parametrize("labels", [[1.5], [True], [2**31], [-(2**31) - 1], [[1, 2]], ["1"], [10**30]])
def test_it_refuses_what_int32_cannot_hold_as_given(labels):
    with pytest.raises(ValueError, match="labels"), transaction.atomic():
        Prediction.objects.create(image=ImageFactory(), model_name="m", labels=labels)
    assert not Prediction.objects.exists()


def test_it_serialises_as_lists():
    Prediction.objects.create(image=ImageFactory(), model_name="m", labels=[7, 8], probs=[0.75, 0.25])
    text = serializers.serialize("json", Prediction.objects.all())
    assert '"labels": [7, 8]' in text and '"probs": [0.75, 0.25]' in text
    restored = next(serializers.deserialize("json", text)).object
    assert (restored.labels, restored.probs) == ([7, 8], [0.75, 0.25])


def test_it_needs_a_big_endian_number_dtype():
    for dtype in ("<i4", "S4", "=f8"):
        with pytest.raises(ValueError, match="big-endian number dtype"):
            PackedArrayField(dtype=dtype)
    assert PackedArrayField(dtype=">i2").deconstruct()[3]["dtype"] == ">i2"
