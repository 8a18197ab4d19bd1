import random
from itertools import combinations

import pytest

from analytics.aggregation import (
    ClassifyAnswer,
    aggregate_classify,
    co_selection_weights,
    greedy_k_cut,
    max_k_cut,
)


def answers(*rows: tuple[list[int], int]) -> list[ClassifyAnswer]:
    return [ClassifyAnswer(f"w{n}", tuple(selected), main) for n, (selected, main) in enumerate(rows)]


def test_it_aggregates_an_image_with_two_objects_and_alternative_labels():
    result = aggregate_classify(answers(
        ([235, 750], 235), ([225, 750], 225), ([235, 255], 235), ([235], 235), ([750, 235], 750),
    ), original_label=235)
    assert result.num_annotators == 5
    assert result.num_objects == 2  # sizes 2, 2, 2, 1, 2: workers disagree, the mode wins
    assert result.main_label == 235
    assert result.main_votes == {225: 1, 235: 3, 750: 1}
    # 225 and 255 were each selected by one worker only; never co-selected labels share a group.
    assert result.objects == [[225, 235], [255, 750]]
    assert result.main_object == 0
    assert result.original_object == 0
    assert result.original_object_main_share == 0.8


def test_it_breaks_a_main_vote_tie_by_selections_then_by_index():
    spread = aggregate_classify(answers(([1, 2], 1), ([2, 1], 2), ([2, 3], 3)), original_label=1)
    assert spread.main_label == 2  # one vote each; 2 was selected by all three workers
    assert spread.objects == [[1, 3], [2]]
    assert spread.main_object == 0  # two main votes (1 and 3) against one
    assert spread.original_object_main_share == pytest.approx(2 / 3)
    even = aggregate_classify(answers(([5], 5), ([4], 4)), original_label=None)
    assert even.main_label == 4
    assert even.objects == [[4, 5]] and even.original_object is None and even.original_object_main_share is None


def test_it_takes_the_smaller_number_of_objects_on_a_tie():
    result = aggregate_classify(answers(([1, 2], 1), ([1], 1)), original_label=1)
    assert result.num_objects == 1
    assert result.objects == [[1, 2]]


def test_it_breaks_a_main_object_tie_by_the_group_of_the_main_label():
    result = aggregate_classify(answers(([1, 5], 1), ([9, 5], 9), ([5, 1], 5), ([5, 9], 5)), original_label=9)
    assert result.objects == [[1, 9], [5]]
    assert result.main_label == 5
    assert result.main_object == 1  # 2 votes each; group 1 holds the main label
    assert result.original_object == 0 and result.original_object_main_share == 0.5


def test_it_handles_three_different_object_counts():
    result = aggregate_classify(answers(([1, 2, 3], 1), ([1], 1), ([1, 2], 2), ([1, 3], 1)), original_label=2)
    assert result.num_objects == 2
    assert result.objects == [[1], [2, 3]]
    assert result.original_object == 1 and result.original_object_main_share == 0.25


def test_it_returns_nothing_without_answers():
    assert aggregate_classify([], original_label=1) is None


def test_it_counts_co_selections_once_per_worker():
    weights = co_selection_weights(answers(([3, 1, 2], 1), ([1, 3, 3], 1)))
    assert weights == {(1, 2): 1, (1, 3): 2, (2, 3): 1}


def test_it_breaks_cut_ties_by_restricted_growth_order():
    assert max_k_cut([3, 1, 2], {(1, 2): 1}, 2) == [[1, 3], [2]]
    assert max_k_cut([1, 2], {}, 5) == [[1], [2]]


def brute_force_within(labels, weights, k) -> int:
    best = None

    def assign(i, groups):
        nonlocal best
        if i == len(labels):
            if len(groups) == k:
                cost = sum(weights.get(p, 0) for g in groups for p in combinations(sorted(g), 2))
                best = cost if best is None else min(best, cost)
            return
        for g in groups:
            g.append(labels[i])
            assign(i + 1, groups)
            g.pop()
        groups.append([labels[i]])
        assign(i + 1, groups)
        groups.pop()

    assign(0, [])
    return best


@pytest.mark.parametrize("seed", range(20))
def test_it_finds_the_optimal_cut_on_random_graphs(seed):
    rng = random.Random(seed)
    labels = rng.sample(range(100), rng.randint(2, 7))
    weights = {pair: rng.randint(0, 5) for pair in combinations(sorted(labels), 2)}
    k = rng.randint(1, len(labels))
    groups = max_k_cut(labels, weights, k)
    within = sum(weights[p] for g in groups for p in combinations(g, 2))
    assert len(groups) == k and sorted(label for group in groups for label in group) == sorted(labels)
    assert within == brute_force_within(sorted(labels), weights, k)


def test_it_falls_back_to_greedy_for_many_labels_and_recovers_clear_objects():
    objects = [[10, 11, 12, 13], [20, 21, 22, 23], [30, 31, 32, 33]]
    rng = random.Random(1)
    rows = [([rng.choice(group) for group in objects], objects[0][0]) for _ in range(40)]
    result = aggregate_classify(answers(*rows), original_label=10)
    assert result.num_objects == 3
    assert result.objects == objects
    weights = co_selection_weights(answers(*rows))
    assert sorted(map(sorted, greedy_k_cut([label for group in objects for label in group], weights, 3))) == objects
