"""Frozen CPU graphs give the eager models' answers, at any batch size, and fall back to eager."""

import logging
from pathlib import Path

import numpy as np
import pytest

from models_zoo.graphs import frozen_graph, pooled_and_logits, runner_for
from models_zoo.inference import InferenceError, default_config, load_crops
from models_zoo.registry import get_models
from models_zoo.weights import load_model
from tests.requirements import require_models, require_samples

MODELS = ["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"]


def _batch(paths: list[Path], preprocessing) -> "object":
    import torch

    crops = np.stack([next(iter(load_crops(str(path), [preprocessing]).values())) for path in paths])
    mean = torch.tensor(preprocessing.mean).view(1, 3, 1, 1) * 255.0
    std = torch.tensor(preprocessing.std).view(1, 3, 1, 1) * 255.0
    x = (torch.from_numpy(crops).float() - mean) / std
    return x.contiguous(memory_format=torch.channels_last)


@pytest.mark.models
@pytest.mark.samples
@pytest.mark.parametrize("name", MODELS)
def test_a_frozen_graph_ranks_like_the_eager_model(name):
    require_models()
    import torch

    paths = sorted(require_samples(1000).glob("*.JPEG"))[::100][:7]  # 7: not the traced batch size
    model = load_model(get_models([name])[0], "cpu", channels_last=True, frozen=True)
    assert isinstance(model.runner, torch.jit.ScriptModule)
    x = _batch(paths, model.preprocessing)
    with torch.inference_mode():
        frozen_pooled, frozen_logits = model.runner(x)
        eager_pooled, eager_logits = pooled_and_logits(model.module)(x)
        single_pooled, _ = model.runner(x[:1])
    frozen_probs, eager_probs = frozen_logits.softmax(1), eager_logits.softmax(1)
    assert torch.equal(frozen_probs.topk(5).indices, eager_probs.topk(5).indices)
    assert (frozen_probs - eager_probs).abs().max() < 1e-4
    assert (frozen_pooled - eager_pooled).abs().max() < 1e-3
    assert (single_pooled[0] - frozen_pooled[0]).abs().max() < 1e-3


def test_an_untraceable_model_runs_eager_with_a_warning(caplog):
    require_models()
    import torch

    class ScalarHead(torch.nn.Module):
        """forward_head returns a Python number, which a traced graph cannot output."""

        def forward_features(self, x):
            return x

        def forward_head(self, x, pre_logits=False):
            return float(x.mean())

        def get_classifier(self):
            return torch.nn.Identity()

    with caplog.at_level(logging.WARNING, logger="models_zoo.graphs"):
        runner = runner_for(ScalarHead(), 8, "cpu", channels_last=False, frozen=True, name="scalar")
    assert not isinstance(runner, torch.jit.ScriptModule)
    assert "scalar runs eager: cannot trace ScalarHead" in caplog.text


def test_eager_is_asked_for_or_used_off_the_cpu():
    require_models()
    import torch

    module = torch.nn.Linear(2, 2)
    for device, frozen in (("cpu", False), ("meta", True)):
        assert not isinstance(runner_for(module, 8, device, False, frozen, "m"), torch.jit.ScriptModule)


def test_the_graph_setting_is_checked():
    assert default_config("cpu").frozen is True
    assert default_config("cpu", graph="eager").frozen is False
    with pytest.raises(InferenceError, match="unknown inference graph 'fast': use frozen or eager"):
        default_config("cpu", graph="fast")


def _tiny_classifier():
    import torch

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.conv, self.bn, self.fc = torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8), torch.nn.Linear(8, 5)

        def forward_features(self, x):
            return torch.relu(self.bn(self.conv(x)))

        def forward_head(self, x, pre_logits=False):
            pooled = x.mean((2, 3))
            return pooled if pre_logits else self.fc(pooled)

        def get_classifier(self):
            return self.fc

    return Tiny().eval()


def test_a_frozen_graph_is_kept_on_disk_and_loaded_instead_of_traced(tmp_path, monkeypatch):
    require_models()
    import torch

    cache = tmp_path / "graphs" / "tiny.pt"
    x = torch.rand(3, 3, 16, 16)
    traced = frozen_graph(_tiny_classifier(), 16, channels_last=False, cache=cache)
    assert cache.is_file() and not list(cache.parent.glob("*.tmp"))

    def no_tracing(*args, **kwargs):
        raise AssertionError("traced again although the graph was on disk")

    monkeypatch.setattr(torch.jit, "trace", no_tracing)
    loaded = frozen_graph(_tiny_classifier(), 16, channels_last=False, cache=cache)
    with torch.inference_mode():
        assert all(torch.equal(a, b) for a, b in zip(traced(x), loaded(x), strict=True))


def test_an_unreadable_cached_graph_is_traced_again_and_replaced(tmp_path, caplog):
    require_models()
    import torch

    cache = tmp_path / "tiny.pt"
    cache.write_bytes(b"not a TorchScript archive")
    with caplog.at_level(logging.WARNING, logger="models_zoo.graphs"):
        graph = frozen_graph(_tiny_classifier(), 16, channels_last=False, cache=cache)
    assert "ignoring unreadable frozen graph" in caplog.text
    with torch.inference_mode():
        expected = pooled_and_logits(_tiny_classifier())(torch.ones(2, 3, 16, 16))[1]
        assert torch.allclose(torch.jit.load(str(cache))(torch.ones(2, 3, 16, 16))[1], expected, atol=1e-5)
        assert torch.allclose(graph(torch.ones(2, 3, 16, 16))[1], expected, atol=1e-5)


def test_a_graph_that_cannot_be_kept_still_runs_and_leaves_no_file(tmp_path, monkeypatch, caplog):
    require_models()
    import torch

    def disk_full(graph, path):
        Path(path).write_bytes(b"partial")
        raise RuntimeError("PytorchStreamWriter failed writing file data/0: file write failed")

    monkeypatch.setattr(torch.jit, "save", disk_full)
    cache = tmp_path / "tiny.pt"
    with caplog.at_level(logging.WARNING, logger="models_zoo.graphs"):
        graph = frozen_graph(_tiny_classifier(), 16, channels_last=False, cache=cache)
    assert "cannot keep the frozen graph" in caplog.text
    assert list(tmp_path.iterdir()) == []
    with torch.inference_mode():
        assert graph(torch.ones(1, 3, 16, 16))[1].shape == (1, 5)


@pytest.mark.models
def test_a_model_whose_graph_is_on_disk_loads_without_building_the_eager_model(settings, tmp_path, monkeypatch):
    require_models()
    import torch

    from models_zoo import weights

    settings.VAR_DIR = tmp_path
    spec = get_models(["efficientnet_lite0"])[0]
    first = load_model(spec, "cpu", channels_last=True, frozen=True)
    assert "module" in vars(first)  # built to trace the graph

    def no_building(*args, **kwargs):
        raise AssertionError("the eager model was built although its graph was on disk")

    monkeypatch.setattr(weights, "_create", no_building)
    second = load_model(spec, "cpu", channels_last=True, frozen=True)
    assert isinstance(second.runner, torch.jit.ScriptModule) and "module" not in vars(second)
    monkeypatch.undo()
    assert isinstance(second.module, torch.nn.Module)  # built on first use
