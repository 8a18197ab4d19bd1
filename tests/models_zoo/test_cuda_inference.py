"""The CUDA path with the real weights: JPEGs decoded and cropped on the GPU, the ensemble replayed as a
captured CUDA graph. Needs a CUDA GPU: CI has none, so these skip there (run them on a GPU machine;
docs/benchmarks.md records the runs)."""

from dataclasses import replace

import numpy as np
import pytest

from annotation.taxonomy import read_taxonomy
from models_zoo import inference
from models_zoo.registry import get_models
from models_zoo.weights import get_loaded_model
from tests.requirements import require_models, require_samples

MODELS = ["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"]
IMAGES = 100

pytestmark = [pytest.mark.models, pytest.mark.samples]


@pytest.fixture(scope="module")
def cuda_run():
    """(paths, original label indices, top-5 by model from the default CUDA path, from eager modules)."""
    require_models()
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    paths = sorted(require_samples(IMAGES).glob("*.JPEG"))[:IMAGES]
    index_of = {record["wnid"]: record["index"] for record in read_taxonomy()}
    originals = np.array([index_of[path.name.split("_")[0]] for path in paths])
    config = inference.default_config("cuda")
    assert config.frozen and config.device_decode  # the defaults: captured graph, decoding on the GPU
    models = [get_loaded_model(spec, config.device, config.channels_last, config.frozen) for spec in get_models(MODELS)]
    runs = {}
    for name, run_config in (("captured", config), ("eager", replace(config, frozen=False))):
        outputs = list(inference.run_ensemble(models, [str(p) for p in paths], run_config, 5, MODELS[0]))
        assert not any(batch.failed for batch in outputs)
        runs[name] = {model: np.concatenate([batch.topk[model][0] for batch in outputs]) for model in MODELS}
        runs[name + "-features"] = np.concatenate([batch.features for batch in outputs])
    return originals, runs


def test_each_model_finds_the_original_label_in_its_top5(cuda_run):
    originals, runs = cuda_run
    for model in MODELS:
        recall = np.mean([original in top5 for original, top5 in zip(originals, runs["captured"][model], strict=True)])
        assert recall >= 0.9, (model, recall)


def test_the_captured_graph_ranks_as_the_eager_models_do(cuda_run):
    _, runs = cuda_run
    for model in MODELS:
        same = np.mean([set(a) == set(b) for a, b in zip(runs["captured"][model], runs["eager"][model], strict=True)])
        assert same >= 0.98, (model, same)
        assert np.mean(runs["captured"][model][:, 0] == runs["eager"][model][:, 0]) >= 0.99
    cosine = np.sum(runs["captured-features"] * runs["eager-features"], axis=1)
    assert cosine.min() > 0.99
