import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command

from analytics.services import aggregate_dataset
from tests.factories import DatasetFactory, ImageFactory, LabelClassFactory
from tests.hitdata import contains_hit, judged

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset():
    dataset = DatasetFactory(name="exp")
    label = LabelClassFactory(index=7)
    image = ImageFactory(dataset=dataset, external_id="x.jpg", original_label=label)
    hit = contains_hit(label, [image])
    judged(hit, {image})
    judged(hit, {image})
    judged(hit, set())
    aggregate_dataset(dataset)
    return dataset


def test_it_writes_selection_frequencies_as_jsonl_and_csv(dataset, tmp_path):
    out = tmp_path / "sf.jsonl"
    call_command("export", "--dataset", "exp", "--what", "sf", "--format", "jsonl", "--out", str(out))
    assert [json.loads(line) for line in out.read_text().splitlines()] == [
        {"image": "x.jpg", "label": 7, "n_selected": 2, "n_shown": 3, "sf": 0.6667}
    ]
    buffer = io.StringIO()
    call_command("export", "--dataset", "exp", "--what", "sf", "--format", "csv", stdout=buffer)
    assert list(csv.DictReader(io.StringIO(buffer.getvalue()))) == [
        {"image": "x.jpg", "label": "7", "n_selected": "2", "n_shown": "3", "sf": "0.6667"}
    ]


def test_it_exports_responses_in_the_import_format_and_categories(dataset):
    buffer = io.StringIO()
    call_command("export", "--dataset", "exp", "--what", "responses", stdout=buffer)
    rows = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert sorted(row["selected"] for row in rows) == [False, True, True]
    assert {row["image"] for row in rows} == {"x.jpg"} and all(row["worker"].startswith("w_") for row in rows)
    buffer = io.StringIO()
    call_command("export", "--dataset", "exp", "--what", "categories", stdout=buffer)
    assert json.loads(buffer.getvalue()) == {"image": "x.jpg", "original_label": 7, "category": "amb", "labels": []}


def test_it_refuses_an_unknown_dataset():
    with pytest.raises(CommandError, match="no dataset named 'nope'"):
        call_command("export", "--dataset", "nope", "--what", "sf")
