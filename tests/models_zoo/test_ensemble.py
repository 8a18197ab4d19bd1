from models_zoo.ensemble import contains_label, merge_sources, source, union_topk


def test_it_unions_topk_with_provenance():
    predictions = {
        "a": [(1, 0.6), (2, 0.3), (3, 0.05)],
        "b": [(2, 0.7), (4, 0.2), (1, 0.05)],
    }
    candidates = union_topk(predictions, original=None, topk=2)
    assert [c.label for c in candidates] == [2, 1, 4]
    by_label = {c.label: c for c in candidates}
    assert by_label[2].sources == ({"model": "b", "rank": 1, "prob": 0.7}, {"model": "a", "rank": 2, "prob": 0.3})
    assert by_label[1].sources == ({"model": "a", "rank": 1, "prob": 0.6},)
    assert 3 not in by_label
    assert not any(c.is_original for c in candidates)


def test_it_adds_the_original_label_last_when_no_model_proposed_it():
    candidates = union_topk({"a": [(1, 0.9)]}, original=7, topk=5)
    assert [(c.label, c.is_original, c.sources) for c in candidates] == [
        (1, False, ({"model": "a", "rank": 1, "prob": 0.9},)),
        (7, True, ()),
    ]
    assert not contains_label(candidates, 7)
    assert contains_label(candidates, 1)


def test_it_marks_a_proposed_original_label():
    candidates = union_topk({"a": [(1, 0.9), (7, 0.05)]}, original=7, topk=5)
    original = next(c for c in candidates if c.label == 7)
    assert original.is_original and original.sources[0]["rank"] == 2


def test_it_merges_sources_replacing_only_the_same_model():
    existing = [source("a", 1, 0.5), source("b", 3, 0.1)]
    merged = merge_sources(existing, [source("b", 2, 0.2), source("c", 1, 0.9)])
    assert merged == [source("c", 1, 0.9), source("a", 1, 0.5), source("b", 2, 0.2)]
    assert merge_sources(merged, [source("c", 1, 0.9)]) == merged


def test_it_rounds_probabilities_for_stable_storage():
    assert source("a", 1, 0.123456789) == {"model": "a", "rank": 1, "prob": 0.123457}


def test_sources_are_written_as_json_dumps_writes_them():
    import json
    import random

    from models_zoo.ensemble import sources_json

    generator = random.Random(3)
    predictions = {
        name: [(generator.randrange(20), generator.random()) for _ in range(5)]
        for name in ("lite0", 'odd "name" \\ é', "lite2")
    }
    for candidate in union_topk(predictions, original=7, topk=5):
        assert sources_json(candidate.sources) == json.dumps(list(candidate.sources))
    assert sources_json([]) == "[]"
