"""import_predictions: JSONL, CSV and .npy in, checked whole, one transaction, re-import replaces."""

import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from models_zoo.models import Prediction, PredictionOrigin
from tests.factories import DatasetFactory, ImageFactory, LabelClassFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset():
    for index in range(6):
        LabelClassFactory(index=index)
    dataset = DatasetFactory(name="val")
    for name in ("a", "b", "c"):
        ImageFactory(dataset=dataset, external_id=name)
    return dataset


def stored(model: str = "m") -> dict[str, tuple[list, list, str]]:
    rows = Prediction.objects.filter(model_name=model).values_list("image__external_id", "labels", "probs", "origin")
    return {image: (labels, probs, origin) for image, labels, probs, origin in rows}


def jsonl(tmp_path, rows, name="p.jsonl"):
    path = tmp_path / name
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return str(path)


def test_it_imports_jsonl_with_indices_or_wnids_and_optional_probs(dataset, tmp_path, capsys):
    path = jsonl(tmp_path, [
        {"image": "a", "labels": [1, 2], "probs": [0.7, 0.2]},
        {"image": "b", "labels": ["n00000003", "n00000000"]},
    ])
    call_command("import_predictions", "--dataset", "val", "--model", "m", path)
    assert stored() == {"a": ([1, 2], [0.7, 0.2], "imported"), "b": ([3, 0], [], "imported")}
    assert "2 images imported (top-2), 0 earlier predictions replaced" in capsys.readouterr().out


def test_it_replaces_the_models_earlier_import_and_nothing_else(dataset, tmp_path, capsys):
    call_command("import_predictions", "--dataset", "val", "--model", "m", jsonl(tmp_path, [
        {"image": "a", "labels": [1]}, {"image": "b", "labels": [2]},
    ]))
    call_command("import_predictions", "--dataset", "val", "--model", "other", jsonl(tmp_path, [
        {"image": "a", "labels": [5]}], "other.jsonl"))
    again = jsonl(tmp_path, [{"image": "c", "labels": [4]}], "again.jsonl")
    call_command("import_predictions", "--dataset", "val", "--model", "m", again)
    call_command("import_predictions", "--dataset", "val", "--model", "m", again)
    assert stored() == {"c": ([4], [], "imported")}
    assert stored("other") == {"a": ([5], [], "imported")}
    assert "1 earlier predictions replaced" in capsys.readouterr().out.splitlines()[-1]


def test_it_imports_csv_cells_as_separated_values_or_json_lists(dataset, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text('image,labels,probs\na,1 2,0.5;0.25\nb,"[""n00000004"", 5]",\n')
    call_command("import_predictions", "--dataset", "val", "--model", "m", str(path))
    assert stored() == {"a": ([1, 2], [0.5, 0.25], "imported"), "b": ([4, 5], [], "imported")}


def test_it_imports_npy_rows_in_the_order_files_order(dataset, tmp_path):
    np.save(tmp_path / "p.npy", np.array([[3, 1], [0, 2]], dtype=np.int32))
    (tmp_path / "order.txt").write_text("c\na\n")
    call_command("import_predictions", "--dataset", "val", "--model", "m", str(tmp_path / "p.npy"),
                 "--order", str(tmp_path / "order.txt"))
    assert stored() == {"c": ([3, 1], [], "imported"), "a": ([0, 2], [], "imported")}


def test_it_lists_every_bad_line_and_keeps_what_was_stored(dataset, tmp_path):
    call_command("import_predictions", "--dataset", "val", "--model", "m", jsonl(tmp_path, [
        {"image": "a", "labels": [1]}], "good.jsonl"))
    bad = jsonl(tmp_path, [
        {"image": "b", "labels": [2]},
        "{oops",
        {"image": "zzz", "labels": [1]},
        {"image": "c", "labels": [9]},
        {"image": "b", "labels": [3]},
        {"image": "a", "labels": [1, 2], "probs": [0.5]},
        {"image": "a", "labels": []},
        {"image": "c", "labels": [[1], {"x": 2}]},
        {"image": "c", "labels": ["²"], "probs": [float("nan")]},
    ])
    with pytest.raises(CommandError) as caught:
        call_command("import_predictions", "--dataset", "val", "--model", "m", bad)
    message = str(caught.value)
    assert "8 bad lines, nothing imported" in message
    for expected in ("line 2: not JSON", "line 3: no image 'zzz' in dataset 'val'", "line 4: unknown label 9",
                     "line 5: the image is already on line 1", "line 6: 'probs' must be a list of 2",
                     "line 7: 'labels' must be a non-empty list", "line 8: unknown label [1]",
                     "line 9: unknown label '²'"):
        assert expected in message
    assert stored() == {"a": ([1], [], "imported")}


def test_it_checks_npy_shape_values_and_order(dataset, tmp_path):
    (tmp_path / "order.txt").write_text("a\nb\n")
    np.save(tmp_path / "bad.npy", np.array([[1, 77], [2, 3]]))
    with pytest.raises(CommandError, match=r"line 1: row 0 of the array: \[77\] are not taxonomy indices"):
        call_command("import_predictions", "--dataset", "val", "--model", "m", str(tmp_path / "bad.npy"),
                     "--order", str(tmp_path / "order.txt"))
    np.save(tmp_path / "three.npy", np.zeros((3, 2), dtype=np.int64))
    with pytest.raises(CommandError, match=r"names 2 images but .* has 3 rows"):
        call_command("import_predictions", "--dataset", "val", "--model", "m", str(tmp_path / "three.npy"),
                     "--order", str(tmp_path / "order.txt"))
    with pytest.raises(CommandError, match="needs --order"):
        call_command("import_predictions", "--dataset", "val", "--model", "m", str(tmp_path / "three.npy"))
    assert not Prediction.objects.exists()


def test_it_never_replaces_predictions_that_ran_here(dataset, tmp_path):
    image = dataset.images.get(external_id="a")
    Prediction.objects.create(image=image, model_name="efficientnet_lite0", labels=[1], probs=[0.9])
    with pytest.raises(CommandError, match="ran here on dataset 'val'"):
        call_command("import_predictions", "--dataset", "val", "--model", "efficientnet_lite0",
                     jsonl(tmp_path, [{"image": "a", "labels": [2]}]))
    assert Prediction.objects.get().origin == PredictionOrigin.RAN_HERE


def test_it_refuses_bad_model_names_and_unknown_formats(dataset, tmp_path):
    path = jsonl(tmp_path, [{"image": "a", "labels": [1]}])
    with pytest.raises(CommandError, match="bad model name"):
        call_command("import_predictions", "--dataset", "val", "--model", "m\tx", path)
    (tmp_path / "p.txt").write_text("a 1\n")
    with pytest.raises(CommandError, match=r"unknown format '\.txt'"):
        call_command("import_predictions", "--dataset", "val", "--model", "m", str(tmp_path / "p.txt"))
    with pytest.raises(CommandError, match="no dataset named 'nope'"):
        call_command("import_predictions", "--dataset", "nope", "--model", "m", path)


def test_it_streams_good_rows_in_blocks_and_takes_them_back_at_a_later_bad_line(dataset, tmp_path, monkeypatch):
    monkeypatch.setattr("models_zoo.prediction_files.BLOCK_ROWS", 1)  # every good row is written at once
    call_command("import_predictions", "--dataset", "val", "--model", "m", jsonl(tmp_path, [
        {"image": "a", "labels": [1]}, {"image": "b", "labels": [2]}, {"image": "c", "labels": [3]},
    ], "three.jsonl"))
    assert stored() == {name: ([label], [], "imported") for name, label in (("a", 1), ("b", 2), ("c", 3))}
    with pytest.raises(CommandError, match="line 3: unknown label 99"):
        call_command("import_predictions", "--dataset", "val", "--model", "m", jsonl(tmp_path, [
            {"image": "a", "labels": [4]}, {"image": "b", "labels": [5]}, {"image": "c", "labels": [99]},
        ], "late-error.jsonl"))
    assert stored() == {name: ([label], [], "imported") for name, label in (("a", 1), ("b", 2), ("c", 3))}


@pytest.mark.parametrize("name", ["p.jsonl", "p.csv"])
def test_every_block_is_stored_exactly(dataset, tmp_path, monkeypatch, name):
    monkeypatch.setattr("models_zoo.prediction_files.BLOCK_ROWS", 2)
    rows = {"a": ([5, 0, 3], [0.1, 0.30000000000000004, 5e-324]), "b": ([1, 2, 4], [1.0, 0.0, 0.5]),
            "c": ([4, 3, 2], [0.9999999999999999, 1e-05, 0.25])}
    path = tmp_path / name
    if name.endswith(".csv"):
        path.write_text("image,labels,probs\n" + "".join(
            f"{image},{' '.join(map(str, labels))},{' '.join(map(repr, probs))}\n"
            for image, (labels, probs) in rows.items()
        ))
    else:
        jsonl(tmp_path, [{"image": image, "labels": labels, "probs": probs} for image, (labels, probs) in rows.items()],
              name)
    call_command("import_predictions", "--dataset", "val", "--model", "m", "--model-version", "v2", str(path))
    assert stored() == {image: (labels, probs, "imported") for image, (labels, probs) in rows.items()}
    assert set(Prediction.objects.values_list("model_version", flat=True)) == {"v2"}
