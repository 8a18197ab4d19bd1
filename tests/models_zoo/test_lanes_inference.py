"""The real ensemble in CPU lanes gives the single-process path's answers, and the same stored rows.

Two models on 12 shared samples (plus one file that is not a JPEG), chunks of 5 images so that a run
has several chunks; lanes use batches of 2, the single process batches of 4.
"""

import os
import signal
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.test import override_settings

from annotation.importer import import_images
from annotation.models import CandidateLabel, Dataset, Image
from annotation.taxonomy import load_taxonomy
from models_zoo import inference
from models_zoo.lanes import can_fork
from models_zoo.models import ChunkStatus, ImageFeature, InferenceChunk, Prediction
from models_zoo.registry import get_models
from models_zoo.weights import get_loaded_model
from tests.requirements import copy_samples, require_models

MODELS = ["efficientnet_lite0", "efficientnet_lite1"]
DATASET = "lanes"

pytestmark = [
    pytest.mark.models,
    pytest.mark.samples,
    pytest.mark.skipif(not can_fork(), reason="lanes need the fork start method"),
]


@pytest.fixture(scope="module")
def sample_paths(tmp_path_factory) -> list[str]:
    require_models()
    folder = copy_samples(tmp_path_factory.mktemp("samples"), start=3, step=83, count=12)
    (folder / "broken.JPEG").write_bytes(b"not a jpeg")
    return sorted(str(path) for path in folder.iterdir())


def _by_position(outputs: list[inference.BatchOutput]) -> tuple[dict, list[int]]:
    rows, failed = {}, []
    for output in outputs:
        failed.extend(output.failed)
        for row, position in enumerate(output.positions):
            rows[position] = (
                {name: (labels[row].tolist(), probs[row]) for name, (labels, probs) in output.topk.items()},
                output.features[row],
            )
    return rows, sorted(failed)


def _run(paths: list[str], lanes: int) -> tuple[dict, list[int]]:
    config = inference.default_config("cpu", lanes=lanes)
    models = [get_loaded_model(spec, "cpu", config.channels_last, config.frozen) for spec in get_models(MODELS)]
    return _by_position(list(inference.run_ensemble(models, paths, config, 5, MODELS[0])))


def test_lanes_give_the_single_process_answers(sample_paths):
    single, single_failed = _run(sample_paths, lanes=1)
    laned, laned_failed = _run(sample_paths, lanes=2)
    broken = sample_paths.index(next(p for p in sample_paths if p.endswith("broken.JPEG")))
    assert single_failed == laned_failed == [broken]
    assert sorted(laned) == sorted(single) == [p for p in range(len(sample_paths)) if p != broken]
    for position, (topk, features) in single.items():
        laned_topk, laned_features = laned[position]
        for name, (labels, probs) in topk.items():
            assert laned_topk[name][0] == labels
            np.testing.assert_allclose(laned_topk[name][1], probs, atol=1e-5)
        np.testing.assert_allclose(laned_features, features, atol=1e-5)


def _propose() -> None:
    call_command("propose_candidates", "--dataset", DATASET, "--models", ",".join(MODELS), "--sync",
                 "--no-progress", "--chunk-size", "5", stdout=open(os.devnull, "w"))  # noqa: SIM115


def _rows() -> dict:
    """What a run stores, without keys or timestamps (probabilities are compared with a tolerance)."""
    names = dict(Image.objects.values_list("pk", "external_id"))
    return {
        "predictions": sorted((names[i], m, labels, probs) for i, m, labels, probs in
                              Prediction.objects.values_list("image_id", "model_name", "labels", "probs")),
        "candidates": sorted((names[i], label, original, [(s["model"], s["rank"]) for s in sources])
                             for i, label, original, sources in
                             CandidateLabel.objects.values_list("image_id", "label__index", "is_original", "sources")),
        "features": sorted(names[i] for i in ImageFeature.objects.values_list("image_id", flat=True)),
    }


def _assert_same_rows(got: dict, expected: dict) -> None:
    assert got["candidates"] == expected["candidates"]
    assert got["features"] == expected["features"]
    assert [row[:3] for row in got["predictions"]] == [row[:3] for row in expected["predictions"]]
    for (*_, probs), (*_, expected_probs) in zip(got["predictions"], expected["predictions"], strict=True):
        np.testing.assert_allclose(probs, expected_probs, atol=1e-4)


def _forget() -> None:
    for model in (Prediction, CandidateLabel, ImageFeature, InferenceChunk):
        model.objects.all().delete()


@pytest.fixture
def dataset(sample_paths, tmp_path, db):
    with override_settings(MEDIA_ROOT=tmp_path / "media", RELABEL_FEATURE_MODEL=MODELS[0]):
        load_taxonomy()
        import_images(DATASET, Path(sample_paths[0]).parent)
        yield Dataset.objects.get(name=DATASET)


def test_the_command_stores_the_same_rows_in_lanes_and_a_rerun_changes_nothing(dataset):
    with override_settings(RELABEL_INFERENCE_LANES=1):
        _propose()
    single = _rows()
    assert len(single["predictions"]) == 2 * 12
    _forget()
    with override_settings(RELABEL_INFERENCE_LANES=2):
        _propose()
        laned = _rows()
        chunks = list(InferenceChunk.objects.values_list("status", "attempts"))
        _propose()
    _assert_same_rows(laned, single)
    assert _rows() == laned
    assert len(chunks) == 3 and set(chunks) == {(ChunkStatus.DONE, 1)}


def test_a_killed_lanes_batch_is_redone_within_the_chunk(dataset, tmp_path, monkeypatch, caplog):
    with override_settings(RELABEL_INFERENCE_LANES=1):
        _propose()
    single = _rows()
    _forget()
    marker = tmp_path / "killed"
    decode_and_forward = inference._decode_and_forward

    def dies_once(*args, **kwargs):
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return decode_and_forward(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)

    monkeypatch.setattr(inference, "_decode_and_forward", dies_once)
    with override_settings(RELABEL_INFERENCE_LANES=2):
        _propose()
    assert marker.exists()
    assert "died" in caplog.text
    _assert_same_rows(_rows(), single)
    assert set(InferenceChunk.objects.values_list("status", "attempts")) == {(ChunkStatus.DONE, 1)}
