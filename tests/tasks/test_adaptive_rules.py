"""tasks.adaptive's decision rules on posteriors computed by hand (Beta(1/2, 1/2); Dirichlet(1/K, ..., 1/K))."""

import itertools

import pytest

from tasks.adaptive import (
    AdaptiveError,
    AdaptiveSettings,
    beta_binomial_pmf,
    classify_confidence,
    classify_decided,
    contains_confidence,
    contains_decided,
    contains_outcome,
    pairs_to_ask,
    prob_stays_mode,
)

ORIGINAL, OTHER = 1, 2


def test_it_predicts_missing_answers_with_the_beta_binomial():
    # Beta(0.5, 3.5) after 0 of 3: P(0 of 2) = 3.5*4.5/(4*5), P(1) = 2*0.5*3.5/20, P(2) = 0.5*1.5/20.
    assert beta_binomial_pmf(0, 3, 2) == pytest.approx([0.7875, 0.175, 0.0375])
    assert beta_binomial_pmf(1, 1, 1) == pytest.approx([0.25, 0.75])  # Beta(1.5, 0.5): mean 3/4
    assert beta_binomial_pmf(2, 5, 0) == pytest.approx([1.0])


def test_it_keeps_a_mode_by_the_dirichlet_predictive_with_ties_as_asked():
    # Dirichlet(2 + 1/3, 1 + 1/3, 1/3): one more vote for the second category ties (P = (4/3)/4).
    assert prob_stays_mode([2, 1, 0], 0, 1, [False, False, False]) == pytest.approx(2 / 3)
    assert prob_stays_mode([2, 1, 0], 0, 1, [True, True, True]) == pytest.approx(1.0)
    # Dirichlet(2.5, 1.5), two more: only both to the second category overtakes, P = 1.5*2.5/(4*5).
    assert prob_stays_mode([2, 1], 0, 2, [False, False]) == pytest.approx(1 - 0.1875)


def test_it_sums_over_the_originals_missing_answers_for_the_contains_threshold():
    # Original 3/3 and another label 0/3, both completed to 5. The original ends with 3, 4 or 5 of 5
    # (P 0.0375, 0.175, 0.7875), so the threshold is 0.3, 0.4 or 0.5; the other label crosses it only
    # with 2 of 2 more (2/5 = 0.4; P 0.0375), and not at 0.5.
    confidence = contains_confidence(ORIGINAL, {ORIGINAL: (3, 3), OTHER: (0, 3)}, max_assignments=5)
    expected = (0.0375 + 0.175) * (1 - 0.0375) + 0.7875
    assert confidence.image == pytest.approx(expected)
    assert confidence.pairs == pytest.approx({ORIGINAL: 1.0, OTHER: expected})


def test_it_calls_an_image_mislabelled_while_its_original_stays_unselected():
    confidence = contains_confidence(ORIGINAL, {ORIGINAL: (0, 3), OTHER: (3, 3)}, max_assignments=5)
    assert contains_outcome(ORIGINAL, {ORIGINAL: (0, 3), OTHER: (3, 3)}).mislabeled
    assert confidence.image == pytest.approx(0.7875)


def test_it_decides_at_one_minus_alpha_or_at_the_maximum():
    counts = {ORIGINAL: (3, 3), OTHER: (0, 3)}
    assert contains_decided(ORIGINAL, counts, AdaptiveSettings(3, 5, alpha=0.05))  # 0.992 >= 0.95
    assert not contains_decided(ORIGINAL, counts, AdaptiveSettings(3, 5, alpha=0.005))
    assert pairs_to_ask(ORIGINAL, counts, AdaptiveSettings(3, 5, alpha=0.005)) == [ORIGINAL, OTHER]
    assert pairs_to_ask(ORIGINAL, counts, AdaptiveSettings(3, 5, alpha=0.05)) == []
    split = {ORIGINAL: (2, 5), OTHER: (1, 5)}
    assert contains_decided(ORIGINAL, split, AdaptiveSettings(3, 5, alpha=0.0))


def test_it_asks_classify_images_until_num_objects_and_main_label_are_sure():
    one, both = ((1,), 1), ((1, 2), 2)
    # Sizes 1,1,2 and mains 1,1,2: one more answer cannot change num_objects (a tie goes to the smaller
    # number) but a main vote for 2 ties main_label: P = 1 - 1.5/4; both together >= 1 + 0.625 - 1.
    assert classify_confidence([one, one, both], [1, 2], max_assignments=4) == pytest.approx(0.625)
    # Two more: each decision changes only if both go the other way, P = 0.1875 each.
    assert classify_confidence([one, one, both], [1, 2], max_assignments=5) == pytest.approx(0.625)
    assert classify_confidence([one, one, one], [1, 2], max_assignments=4) == pytest.approx(1.0)
    assert classify_decided([one, one, one], [1, 2], AdaptiveSettings(3, 4, alpha=0.0))
    assert not classify_decided([one, one, both], [1, 2], AdaptiveSettings(3, 5, alpha=0.05))
    assert classify_decided([one, one, both], [1, 2], AdaptiveSettings(3, 3, alpha=0.0))


def test_with_alpha_zero_it_stops_only_when_no_missing_answer_can_change_the_decisions():
    settings = AdaptiveSettings(1, 4, alpha=0.0)
    for s_original, n_original, s_other, n_other in itertools.product(range(5), range(1, 5), range(5), range(1, 5)):
        if s_original > n_original or s_other > n_other:
            continue
        counts = {ORIGINAL: (s_original, n_original), OTHER: (s_other, n_other)}
        now = contains_outcome(ORIGINAL, counts)
        finals = {
            contains_outcome(ORIGINAL, {ORIGINAL: (s_original + a, 4), OTHER: (s_other + b, 4)})
            for a in range(4 - n_original + 1) for b in range(4 - n_other + 1)
        }
        assert contains_decided(ORIGINAL, counts, settings) == (finals == {now})


def test_it_refuses_settings_that_cannot_work():
    with pytest.raises(AdaptiveError, match="--min-assignments must be at least 1"):
        AdaptiveSettings(0, 9)
    with pytest.raises(AdaptiveError, match="below --min-assignments"):
        AdaptiveSettings(5, 3)
    with pytest.raises(AdaptiveError, match="--alpha must be in"):
        AdaptiveSettings(3, 9, alpha=1.0)
