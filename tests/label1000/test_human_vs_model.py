import math

import pytest

from label1000.human_vs_model import (
    HUMAN,
    ErrorRef,
    Trial,
    compare,
    difference_interval,
    error_breakdown,
    top5_errors,
    two_proportion_z_test,
)


def test_it_matches_a_hand_computed_z_test():
    # 3/10 vs 1/10: pooled p = 4/20 = 0.2, SE = sqrt(0.2 * 0.8 * (1/10 + 1/10)) = sqrt(0.032),
    # z = 0.2 / sqrt(0.032) = sqrt(5)/2 = 1.1180; one-sided p = 1 - Phi(1.118) = 0.1318 (normal table: 0.1314 at 1.12).
    test = two_proportion_z_test(3, 10, 1, 10)
    assert test.z == pytest.approx(math.sqrt(5) / 2, abs=1e-12)
    assert test.p_value == pytest.approx(0.13178, abs=1e-5)
    reverse = two_proportion_z_test(1, 10, 3, 10)
    assert reverse.z == pytest.approx(-test.z) and reverse.p_value == pytest.approx(1 - test.p_value)


def test_it_reproduces_the_ilsvrc_study_p_value():
    # GoogLeNet 6.8% (102/1500) vs annotator A1 5.1% (76/1500) top-5 error: the paper reports p = 0.022.
    test = two_proportion_z_test(102, 1500, 76, 1500)
    assert test.z == pytest.approx(2.0093, abs=1e-4)
    assert round(test.p_value, 3) == 0.022


def test_it_handles_empty_and_degenerate_samples():
    assert math.isnan(two_proportion_z_test(0, 0, 1, 5).p_value)
    assert two_proportion_z_test(0, 5, 0, 5).p_value == 0.5
    assert two_proportion_z_test(5, 5, 5, 5).p_value == 0.5
    assert two_proportion_z_test(5, 5, 0, 5).z == pytest.approx(math.sqrt(10))


def test_the_difference_has_newcombes_hybrid_score_interval():
    # Newcombe (1998), Table II, example (a): 56/70 - 48/80 = 0.2000, 95 % interval 0.0524 to 0.3339.
    diff = difference_interval(56, 70, 48, 80)
    assert diff.value == pytest.approx(0.2)
    assert (round(diff.low, 4), round(diff.high, 4)) == (0.0524, 0.3339)


def test_the_difference_interval_stays_within_minus_one_and_one():
    # The Wald interval of 0/3 - 3/3 is the single point -1 and of 0/2 - 2/3 reaches -1.04.
    for k_a, n_a, k_b, n_b in [(0, 3, 3, 3), (0, 2, 2, 3), (5, 5, 0, 1), (1, 1, 0, 1)]:
        diff = difference_interval(k_a, n_a, k_b, n_b)
        assert -1 <= diff.low <= diff.value <= diff.high <= 1
        assert diff.low < diff.high


TRUTHS = {1: 10, 2: 20, 3: 30, 4: 40}
HUMAN_TRIALS = [Trial(1, (10,)), Trial(2, (21, 20)), Trial(3, (31, 32, 33, 34, 35)), Trial(4, (40,))]
MODEL = [Trial(1, (11, 12, 13, 14, 15)), Trial(2, (20,)), Trial(3, (30,)), Trial(4, (41, 40)), Trial(9, (1,))]


def test_it_compares_top1_and_top5_errors_on_the_same_images():
    [comparison] = compare(HUMAN_TRIALS, {"net": MODEL}, TRUTHS)
    assert (comparison.model, comparison.n_images, comparison.n_human_trials) == ("net", 4, 4)
    assert comparison.top1.human.value == 0.5 and comparison.top1.model.value == 0.5
    assert comparison.top5.human.value == 0.25 and comparison.top5.model.value == 0.25
    assert comparison.top5.human.low < 0.25 < comparison.top5.human.high
    assert comparison.top1.model_worse.p_value == pytest.approx(0.5)


def test_it_scores_only_images_both_sides_answered():
    [comparison] = compare(HUMAN_TRIALS[:2], {"net": MODEL}, TRUTHS)
    assert comparison.n_images == 2
    assert comparison.top5.model.n == 2 and comparison.top5.model.value == 0.5


def test_it_lists_top5_errors_of_humans_and_models():
    human = dict(enumerate(HUMAN_TRIALS, start=100))
    errors = top5_errors(human, {"net": MODEL}, TRUTHS)
    assert errors == [ErrorRef(HUMAN, 3, 102), ErrorRef("net", 1)]


def test_it_breaks_errors_down_by_type_for_humans_and_models_side_by_side():
    errors = [ErrorRef(HUMAN, 1, 7), ErrorRef(HUMAN, 2, 8), ErrorRef(HUMAN, 3, 9),
              ErrorRef("net", 1), ErrorRef("net", 2), ErrorRef("alex", 2)]
    tags = {
        ErrorRef(HUMAN, 1, 7): ["fine_grained"],
        ErrorRef(HUMAN, 2, 8): ["fine_grained", "multiple_objects"],
        ErrorRef("net", 1): ["small_or_thin"],
        ErrorRef("net", 2): ["multiple_objects", "unknown-type"],
    }
    types = ["multiple_objects", "small_or_thin", "fine_grained"]
    result = error_breakdown(errors, tags, types)
    assert result.sources == [HUMAN, "alex", "net"]
    assert result.n_errors == {HUMAN: 3, "alex": 1, "net": 2}
    assert result.n_reviewed == {HUMAN: 2, "alex": 0, "net": 2}
    assert result.counts["fine_grained"] == {HUMAN: 2, "alex": 0, "net": 0}
    assert result.counts["multiple_objects"] == {HUMAN: 1, "alex": 0, "net": 1}
    assert result.share("fine_grained", HUMAN) == 1.0
    assert result.share("small_or_thin", "net") == 0.5
    assert math.isnan(result.share("small_or_thin", "alex"))
