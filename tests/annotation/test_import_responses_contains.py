import json

import pytest
from django.core.management import CommandError, call_command

from analytics.models import SelectionFrequency
from analytics.services import aggregate_selection_frequencies
from annotation.models import ContainsJudgment, Dataset, Image
from tasks.models import Assignment, Batch, Provider
from tests.factories import DatasetFactory, ImageFactory, LabelClassFactory

pytestmark = pytest.mark.django_db


def write(tmp_path, lines) -> str:
    path = tmp_path / "contains.jsonl"
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return str(path)


@pytest.fixture
def world():
    dataset = DatasetFactory(name="v2")
    cat = LabelClassFactory(index=281, wnid="n02123045")
    ImageFactory(dataset=dataset, external_id="a.jpg", original_label=cat)
    ImageFactory(dataset=dataset, external_id="b.jpg", original_label=cat)
    return dataset, cat


def test_it_imports_judgments_that_aggregate_like_any_other(tmp_path, world, capsys):
    dataset, _ = world
    path = write(tmp_path, [
        {"image": "a.jpg", "label": 281, "worker": "W1", "selected": True},
        {"image": "a.jpg", "label": "n02123045", "worker": "W2", "selected": True},
        {"image": "a.jpg", "label": 281, "worker": "W3", "selected": False},
        {"image": "b.jpg", "label": 281, "worker": "W1", "selected": False},
    ])
    call_command("import_responses", "--dataset", "v2", "--task", "contains", path)
    assert "4 responses imported" in capsys.readouterr().out
    batch = Batch.objects.get(provider=Provider.IMPORT)
    assert batch.hits.count() == 1
    assert Assignment.objects.filter(hit__batch=batch, status=Assignment.Status.APPROVED).count() == 3
    aggregate_selection_frequencies(dataset)
    sf = {(r.image.external_id, r.label.index): (r.n_selected, r.n_shown) for r in SelectionFrequency.objects.all()}
    assert sf == {("a.jpg", 281): (2, 3), ("b.jpg", 281): (0, 1)}


def test_it_adds_nothing_when_the_same_file_is_imported_again(tmp_path, world, capsys):
    path = write(tmp_path, [{"image": "a.jpg", "label": 281, "worker": "W1", "selected": True}])
    call_command("import_responses", "--dataset", "v2", "--task", "contains", path)
    call_command("import_responses", "--dataset", "v2", "--task", "contains", path)
    assert ContainsJudgment.objects.count() == 1
    assert Batch.objects.count() == 1 and Assignment.objects.count() == 1
    assert "0 responses imported, 1 already present" in capsys.readouterr().out


def test_it_reports_bad_lines_by_number_and_imports_the_rest(tmp_path, world, capsys):
    path = write(tmp_path, [
        {"image": "a.jpg", "label": 281, "worker": "W1", "selected": True},
        {"image": "zzz.jpg", "label": 281, "worker": "W1", "selected": True},
        {"image": "a.jpg", "label": 5000, "worker": "W1", "selected": True},
        "{not json",
        {"image": "b.jpg", "label": 281, "worker": "W1", "selected": "yes"},
        {"image": "b.jpg", "label": 281, "worker": "W2", "selected": False},
    ])
    call_command("import_responses", "--dataset", "v2", "--task", "contains", path)
    captured = capsys.readouterr()
    assert "line 2: unknown image 'zzz.jpg'" in captured.err
    assert "line 3: unknown label 5000" in captured.err
    assert "line 4: not JSON" in captured.err
    assert "line 5: 'selected' must be true or false" in captured.err
    assert "2 responses imported" in captured.out and "4 skipped" in captured.out
    assert ContainsJudgment.objects.count() == 2


def test_it_creates_file_less_images_when_asked(tmp_path, world):
    path = write(tmp_path, [{"image": "new.jpg", "label": 281, "worker": "W1", "selected": True,
                             "original_label": 281}])
    call_command("import_responses", "--dataset", "v2", "--task", "contains", path, "--create-missing-images")
    image = Image.objects.get(external_id="new.jpg")
    assert not image.file and image.original_label.index == 281
    assert ContainsJudgment.objects.filter(image=image).count() == 1


def test_import_responses_refuses_an_unsafe_new_dataset_name(tmp_path):
    responses = tmp_path / "r.jsonl"
    responses.write_text('{"image": "a.jpg", "label": 0, "worker": "W1", "selected": true}\n')
    with pytest.raises(CommandError, match="invalid dataset name"):
        call_command("import_responses", str(responses), dataset="<script>", task="contains",
                     create_dataset=True, create_missing_images=True)
    assert not Dataset.objects.filter(name="<script>").exists()
