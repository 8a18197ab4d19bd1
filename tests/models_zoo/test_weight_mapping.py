from collections import OrderedDict

import numpy as np
import pytest

from models_zoo.registry import KeyMapping
from models_zoo.weights import WeightMappingError, map_state_dict, unwrap_checkpoint


def _tensors(**shapes):
    return OrderedDict((key, np.zeros(shape)) for key, shape in shapes.items())


def test_it_maps_lukemelas_names_onto_timm_names_in_order():
    source = _tensors(_conv_stem__weight=(32, 3, 3, 3), _bn0__weight=(32,), _fc__weight=(10, 32))
    target = _tensors(conv_stem__weight=(32, 3, 3, 3), bn1__weight=(32,), classifier__weight=(10, 32))
    source["_bn0__weight"][:] = 7
    mapped = map_state_dict(source, target, KeyMapping.POSITIONAL)
    assert list(mapped) == list(target)
    assert (mapped["bn1__weight"] == 7).all()


def test_it_refuses_a_shape_mismatch_naming_both_tensors():
    source = _tensors(a=(3,), b=(4, 2))
    target = _tensors(x=(3,), y=(2, 4))
    with pytest.raises(WeightMappingError, match=r"tensor #1 b has shape \(4, 2\) but the model's y needs \(2, 4\)"):
        map_state_dict(source, target, KeyMapping.POSITIONAL)


def test_it_refuses_a_different_tensor_count():
    with pytest.raises(WeightMappingError, match="2 tensors in the checkpoint but 3 in the model"):
        map_state_dict(_tensors(a=(1,), b=(1,)), _tensors(a=(1,), b=(1,), c=(1,)), KeyMapping.POSITIONAL)


def test_it_maps_exact_names_regardless_of_order():
    source = _tensors(b=(2,), a=(1,))
    mapped = map_state_dict(source, _tensors(a=(1,), b=(2,)), KeyMapping.EXACT)
    assert list(mapped) == ["a", "b"]


def test_it_lists_missing_and_unexpected_keys():
    with pytest.raises(WeightMappingError, match=r"missing: \['c'\], unexpected: \['b'\]"):
        map_state_dict(_tensors(a=(1,), b=(1,)), _tensors(a=(1,), c=(1,)), KeyMapping.EXACT)


def test_it_unwraps_training_checkpoints():
    inner = {"module.a": np.zeros(1), "module.b": np.zeros(2)}
    assert list(unwrap_checkpoint({"state_dict": inner, "epoch": 3})) == ["a", "b"]
    assert list(unwrap_checkpoint({"model": {"a": np.zeros(1)}})) == ["a"]
    with pytest.raises(WeightMappingError, match="no state dict"):
        unwrap_checkpoint([1, 2])
