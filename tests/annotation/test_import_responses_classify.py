import json

import pytest
from django.core.management import call_command

from analytics.models import ClassifyResult
from annotation.models import ClassifyResponse, Image
from tests.factories import DatasetFactory, LabelClassFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def labels():
    return {index: LabelClassFactory(index=index) for index in (225, 235, 255, 750)}


def write(tmp_path, rows) -> str:
    path = tmp_path / "classify.jsonl"
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))
    return str(path)


def test_it_imports_released_answers_without_images_then_aggregates_and_exports_them(tmp_path, labels, capsys):
    DatasetFactory(name="released")
    rows = [
        {"image": "x", "original_label": 235, "worker": "A", "selected": [235, 750], "main": 235},
        {"image": "x", "original_label": 235, "worker": "B", "selected": [225, 750], "main": 225},
        {"image": "x", "original_label": 235, "worker": "C", "selected": [235, 255], "main": 235},
        {"image": "x", "original_label": 235, "worker": "D", "selected": [235], "main": 235},
        {"image": "x", "original_label": 235, "worker": "E", "selected": [750, 235], "main": 750},
    ]
    path = write(tmp_path, rows)
    call_command("import_responses", "--dataset", "released", "--task", "classify", path, "--create-missing-images")
    call_command("import_responses", "--dataset", "released", "--task", "classify", path, "--create-missing-images")
    assert ClassifyResponse.objects.count() == 5
    assert Image.objects.get(external_id="x").original_label.index == 235
    call_command("aggregate", "--dataset", "released")
    result = ClassifyResult.objects.get()
    assert (result.num_annotators, result.num_objects, result.main_label.index) == (5, 2, 235)
    assert result.object_groups == [[225, 235], [255, 750]]
    out = tmp_path / "classify.jsonl.out"
    call_command("export", "--dataset", "released", "--what", "classify", "--out", str(out))
    exported = json.loads(out.read_text())
    assert exported == {
        "image": "x", "original_label": 235, "num_annotators": 5, "num_objects": 2, "main_label": 235,
        "main_votes": {"225": 1, "235": 3, "750": 1}, "objects": [[225, 235], [255, 750]], "main_object": 0,
        "original_object": 0, "original_object_main_share": 0.8, "num_objects_tied": False,
        "main_label_tied": False,
    }


def test_it_reports_inconsistent_lines(tmp_path, labels, capsys):
    DatasetFactory(name="released")
    path = write(tmp_path, [
        {"image": "x", "worker": "A", "selected": [235], "main": 750},
        {"image": "x", "worker": "A", "selected": [], "main": 235},
        {"image": "x", "worker": "A", "selected": [999], "main": 999},
        {"image": "x", "worker": "A", "selected": ["n00000235"], "main": 235},
    ])
    call_command("import_responses", "--dataset", "released", "--task", "classify", path, "--create-missing-images")
    err = capsys.readouterr().err
    assert "line 1: main label 750 is not among the selected labels" in err
    assert "line 2: 'selected' must be a non-empty list" in err
    assert "line 3: unknown label 999" in err
    assert ClassifyResponse.objects.get().selected == [235]
