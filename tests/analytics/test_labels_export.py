"""export --what labels: the ReaL-style list (json) and the rich rows (jsonl), from the command and the API."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from analytics.models import ClassifyResult, ImageCategory, SelectionFrequency
from tests.factories import DatasetFactory, ImageFactory, LabelClassFactory, UserFactory

pytestmark = pytest.mark.django_db
DOCS = Path(__file__).resolve().parents[2] / "docs" / "formats.md"


@pytest.fixture
def dataset():
    labels = {index: LabelClassFactory(index=index) for index in (2, 3, 5, 8, 9)}
    dataset = DatasetFactory(name="real")
    a, b, c, _unjudged = (ImageFactory(dataset=dataset, external_id=name, original_label=labels[3]) for name in "abcd")
    ClassifyResult.objects.create(
        image=a, num_annotators=4, num_objects=2, main_label=labels[9], main_votes={"9": 2, "3": 2},
        object_groups=[[3, 8], [9]], main_object=1, original_object=0, num_objects_tied=False, main_label_tied=True,
    )
    SelectionFrequency.objects.create(image=a, label=labels[3], n_selected=2, n_shown=4)
    SelectionFrequency.objects.create(image=a, label=labels[9], n_selected=2, n_shown=3)
    ImageCategory.objects.create(image=a, category="fu", labels=[9, 3], sf_ratio=0.5, min_workers=3)
    ImageCategory.objects.create(image=b, category="fu", labels=[5, 2], sf_ratio=0.5, min_workers=3)
    ImageCategory.objects.create(image=c, category="mis", labels=[], sf_ratio=0.5, min_workers=3)
    return dataset


def export(fmt: str, tmp_path) -> str:
    out = tmp_path / f"labels.{fmt}"
    call_command("export", "--dataset", "real", "--what", "labels", "--format", fmt, "--out", str(out))
    return out.read_text()


def test_it_writes_the_valid_labels_of_each_image_in_dataset_order(dataset, tmp_path):
    # a: its CLASSIFY objects' labels; b: its confident CONTAINS labels; c: mislabeled; d: not judged.
    assert json.loads(export("json", tmp_path)) == [[3, 8, 9], [2, 5], [], []]


def test_it_writes_a_rich_row_per_image(dataset, tmp_path):
    rows = [json.loads(line) for line in export("jsonl", tmp_path).splitlines()]
    assert rows[0] == {
        "image": "a", "original_label": 3, "labels": [3, 8, 9], "source": "classify", "main_label": 9,
        "num_objects": 2, "objects": [[3, 8], [9]], "sf": {"3": 0.5, "9": 0.6667},
        "num_objects_tied": False, "main_label_tied": True,
    }
    assert [(row["image"], row["labels"], row["source"]) for row in rows[1:]] == [
        ("b", [2, 5], "contains"), ("c", [], "none"), ("d", [], "none"),
    ]
    assert rows[1]["main_label"] is None and rows[1]["main_label_tied"] is None


def test_it_serves_the_same_bytes_over_the_api(dataset, tmp_path):
    client = Client()
    client.force_login(UserFactory(is_staff=True))
    for fmt in ("json", "jsonl"):
        response = client.get(f"/api/v1/datasets/real/export/labels.{fmt}")
        assert response.status_code == 200
        assert b"".join(response.streaming_content).decode() == export(fmt, tmp_path)
    assert client.get("/api/v1/datasets/real/export/labels.csv").status_code == 400


def test_it_refuses_a_format_the_export_does_not_have(dataset):
    with pytest.raises(CommandError, match="--what labels is written as --format json"):
        call_command("export", "--dataset", "real", "--what", "labels", "--format", "csv")
    with pytest.raises(CommandError, match="--what sf is written as --format jsonl or csv"):
        call_command("export", "--dataset", "real", "--what", "sf", "--format", "json")


def test_the_scoring_snippet_of_the_docs_scores_predictions_against_the_export(dataset, tmp_path):
    export("json", tmp_path)
    predictions = [[8, 3], [3, 2], [2], [9]]  # a: 8 valid; b: 3 not valid; c, d: no valid label, not scored
    (tmp_path / "predictions.jsonl").write_text("".join(json.dumps({"labels": p}) + "\n" for p in predictions))
    snippet = re.search(r"<!-- scoring snippet -->\s*```python\n(.*?)```", DOCS.read_text(), re.S).group(1)
    assert len(snippet.strip().splitlines()) == 5
    result = subprocess.run([sys.executable, "-c", snippet], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "ReaL accuracy: 0.5000 on 2 images"
