"""Adaptive redundancy: when has an item had enough answers? Pure functions over counts, no database.

An item (a CONTAINS image with its candidate pairs, or a CLASSIFY image) is asked of
`min_assignments` workers first and more only while it is undecided. The question each rule answers
is: would the decision the pipeline takes with the full `max_assignments` answers be the same as the
one the answers so far give? Each worker's answer is modelled as a draw from unknown rates with a
symmetric Beta / Dirichlet prior of concentration PRIOR (Jeffreys' prior: ½ per outcome); the
posterior predictive of the answers still missing up to the maximum (Beta-binomial,
Dirichlet-multinomial) gives the probability that the final decision equals the current one. The
item is decided when that probability is at least 1 - alpha, or when it has reached the maximum.
With alpha = 0 an item stops only when no missing answer could change its decision.

Decisions modelled (the rules of analytics.aggregation, restated here over counts because crowd-work
code may not import analytics; tests/tasks/test_adaptive_matches_aggregation.py keeps them equal):
- CONTAINS, per image from label → (n_selected, n_shown): is SF(original) zero (mislabelled); which
  labels have SF ≥ sf_ratio x SF(original) (the CLASSIFY candidates; the image is easy when that is
  the original alone). Pairs are independent; the original's SF moves every other pair's threshold,
  so the joint probability sums over the original's missing answers.
- CLASSIFY, per image from its answers: num_objects (the most common number of labels selected, ties
  to the smaller number) and main_label (the most common main answer). A tie on main_label is
  resolved by selection counts no model here predicts, so a label counts as the future main label
  only when it has strictly more votes than every other: a tie stays undecided until the maximum.
  The two decisions are combined by the Fréchet bound P(both) ≥ P(num) + P(main) - 1.

Adaptive runs assume the aggregation's `min_workers` is at most `min_assignments` (a pair judged by
fewer workers is ambiguous there, whatever its answers say).
"""

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# Perks' prior: a total prior mass of 1 spread evenly over the K outcomes (Jeffreys' Beta(½, ½) when K = 2).
PRIOR_MASS = 1.0
# Floating-point slack of the SF threshold, as in analytics.aggregation.categorise.
SF_EPSILON = 1e-12


class AdaptiveError(ValueError):
    """Adaptive settings that cannot work; the message says which and how to fix them."""


@dataclass(frozen=True)
class AdaptiveSettings:
    """How many answers an item gets at least and at most, and the risk alpha of stopping early."""

    min_assignments: int = 3
    max_assignments: int = 9
    alpha: float = 0.05

    def __post_init__(self) -> None:
        if self.min_assignments < 1:
            raise AdaptiveError("--min-assignments must be at least 1")
        if self.max_assignments < self.min_assignments:
            raise AdaptiveError(
                f"--max-assignments {self.max_assignments} is below --min-assignments {self.min_assignments}"
            )
        if not 0.0 <= self.alpha < 1.0:
            raise AdaptiveError(f"--alpha must be in [0, 1), e.g. 0.05; got {self.alpha}")

    def as_dict(self) -> dict:
        return {"min_assignments": self.min_assignments, "max_assignments": self.max_assignments,
                "alpha": self.alpha}

    @classmethod
    def from_dict(cls, data: Mapping) -> "AdaptiveSettings":
        return cls(int(data["min_assignments"]), int(data["max_assignments"]), float(data["alpha"]))


# --- predictive distributions ----------------------------------------------------------------------


def _rising_weights(a: float, m: int) -> list[float]:
    """w(k) = Γ(a + k) / (k! Γ(a)) for k = 0..m: one category's factor in the Dirichlet-multinomial."""
    weights = [1.0]
    for k in range(1, m + 1):
        weights.append(weights[-1] * (a + k - 1) / k)
    return weights


def _dm_norm(total: float, m: int) -> float:
    """m! Γ(A) / Γ(A + m), the Dirichlet-multinomial's constant for m draws with concentration A."""
    return math.exp(math.lgamma(m + 1) + math.lgamma(total) - math.lgamma(total + m))


def beta_binomial_pmf(selected: int, shown: int, missing: int) -> list[float]:
    """P(k of the `missing` next answers select) for k = 0..missing, after `selected` of `shown`."""
    a, b = selected + PRIOR_MASS / 2, shown - selected + PRIOR_MASS / 2
    yes, no = _rising_weights(a, missing), _rising_weights(b, missing)
    norm = _dm_norm(a + b, missing)
    return [norm * yes[k] * no[missing - k] for k in range(missing + 1)]


def prob_stays_mode(counts: Sequence[int], target: int, missing: int, wins_tie: Sequence[bool]) -> float:
    """P(category `target` is still the mode after `missing` more answers), Dirichlet(1/K + counts).

    `wins_tie[j]` says whether `target` keeps the mode when it ties with category j at the end.
    Sums over the target's future count; the other categories' counts below their bounds are
    combined by a polynomial product (O(categories x missing²) per target count).
    """
    alphas = [count + PRIOR_MASS / len(counts) for count in counts]
    norm = _dm_norm(sum(alphas), missing)
    target_weights = _rising_weights(alphas[target], missing)
    others = [j for j in range(len(counts)) if j != target]
    weights = {j: _rising_weights(alphas[j], missing) for j in others}
    total = 0.0
    for k_target in range(missing + 1):
        rest = missing - k_target
        final = counts[target] + k_target
        poly = [1.0] + [0.0] * rest
        for j in others:
            bound = min(final - counts[j] - (0 if wins_tie[j] else 1), rest)
            if bound < 0:
                poly = []
                break
            poly = [sum(poly[d - k] * weights[j][k] for k in range(min(d, bound) + 1)) for d in range(rest + 1)]
        if poly:
            total += target_weights[k_target] * poly[rest]
    return min(1.0, norm * total)


# --- CONTAINS --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContainsOutcome:
    """The decisions CONTAINS answers lead to for one image."""

    mislabeled: bool
    candidates: frozenset[int]  # labels with SF ≥ ratio x SF(original); empty when mislabeled


def _is_candidate(selected: int, shown: int, threshold: float) -> bool:
    return selected > 0 and selected / shown >= threshold - SF_EPSILON


def contains_outcome(original: int, counts: Mapping[int, tuple[int, int]], sf_ratio: float = 0.5) -> ContainsOutcome:
    """The decisions the current counts give (label → (n_selected, n_shown)); `original` must be counted."""
    original_selected, original_shown = counts[original]
    if original_selected == 0:
        return ContainsOutcome(True, frozenset())
    threshold = sf_ratio * original_selected / original_shown
    return ContainsOutcome(False, frozenset(
        label for label, (selected, shown) in counts.items() if _is_candidate(selected, shown, threshold)
    ))


@dataclass(frozen=True)
class ContainsConfidence:
    """P(the decisions at the maximum equal today's): for the image, and per pair (label → P)."""

    image: float
    pairs: dict[int, float]


def _p_candidate(selected: int, shown: int, final_shown: int, threshold: float) -> float:
    """P(the pair ends with SF ≥ threshold and at least one selection), its missing answers predicted."""
    pmf = beta_binomial_pmf(selected, shown, final_shown - shown)
    return sum(p for k, p in enumerate(pmf) if _is_candidate(selected + k, final_shown, threshold))


def contains_confidence(original: int, counts: Mapping[int, tuple[int, int]], max_assignments: int,
                        sf_ratio: float = 0.5) -> ContainsConfidence:
    """How sure the image's CONTAINS decisions are (see the module docstring for the model).

    Every pair is completed to `max_assignments` answers (or keeps more if it already has them).
    The image's probability sums over the original pair's missing answers, which set the threshold.
    """
    now = contains_outcome(original, counts, sf_ratio)
    final = {label: max(shown, max_assignments) for label, (_, shown) in counts.items()}
    original_selected, original_shown = counts[original]
    pmf = beta_binomial_pmf(original_selected, original_shown, final[original] - original_shown)
    others = [label for label in counts if label != original]
    image = 0.0
    pairs = dict.fromkeys(others, 0.0)
    pairs[original] = pmf[0] if now.mislabeled else 1.0  # P(SF(original) stays zero / above zero)
    for k, p_original in enumerate(pmf):
        final_selected = original_selected + k
        if now.mislabeled:  # the other pairs decide nothing for a mislabelled image
            image += p_original * (final_selected == 0)
            for label in others:
                pairs[label] += p_original
            continue
        threshold = sf_ratio * final_selected / final[original]
        joint = 1.0
        for label in others:
            selected, shown = counts[label]
            p_in = _p_candidate(selected, shown, final[label], threshold)
            p_same = p_in if label in now.candidates else 1.0 - p_in
            pairs[label] += p_original * p_same
            joint *= p_same
        image += p_original * joint
    return ContainsConfidence(min(1.0, image), {label: min(1.0, p) for label, p in pairs.items()})


def contains_decided(original: int, counts: Mapping[int, tuple[int, int]], settings: AdaptiveSettings,
                     sf_ratio: float = 0.5) -> bool:
    """Decided: every pair has its maximum, or the decisions hold at the maximum with P ≥ 1 - alpha."""
    if all(shown >= settings.max_assignments for _, shown in counts.values()):
        return True
    confidence = contains_confidence(original, counts, settings.max_assignments, sf_ratio)
    return confidence.image >= 1.0 - settings.alpha


def pairs_to_ask(original: int, counts: Mapping[int, tuple[int, int]], settings: AdaptiveSettings,
                 sf_ratio: float = 0.5) -> list[int]:
    """The labels of an image whose pairs should get more answers ([] when the image is decided).

    The pairs below their maximum that are themselves unsure (P < 1 - alpha), with the original pair
    when any other is asked (its SF sets their threshold); when each pair is sure on its own but the
    image is not, every pair below its maximum.
    """
    if contains_decided(original, counts, settings, sf_ratio):
        return []
    confidence = contains_confidence(original, counts, settings.max_assignments, sf_ratio)
    open_pairs = sorted(label for label, (_, shown) in counts.items() if shown < settings.max_assignments)
    unsure = [label for label in open_pairs if confidence.pairs[label] < 1.0 - settings.alpha]
    if not unsure:
        return open_pairs
    if original in open_pairs and original not in unsure:
        unsure.append(original)
    return sorted(unsure)


# --- CLASSIFY --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassifyOutcome:
    num_objects: int
    main_label: int


def classify_outcome(answers: Sequence[tuple[Sequence[int], int]]) -> ClassifyOutcome:
    """num_objects and main_label of (selected labels, main label) answers, with the aggregation's ties."""
    sizes = Counter(len(set(selected)) for selected, _ in answers)
    num_objects = min(sizes, key=lambda size: (-sizes[size], size))
    votes = Counter(main for _, main in answers)
    selections = Counter(label for selected, _ in answers for label in set(selected))
    main_label = min(votes, key=lambda label: (-votes[label], -selections[label], label))
    return ClassifyOutcome(num_objects, main_label)


def classify_confidence(answers: Sequence[tuple[Sequence[int], int]], offered: Sequence[int],
                        max_assignments: int) -> float:
    """A lower bound of P(num_objects and main_label at the maximum equal today's), answers given.

    Categories: 1..len(offered) labels selected, and each offered label as the main answer, each
    with prior mass PRIOR. num_objects keeps its tie rule (the smaller number wins); main_label
    must end strictly ahead (see the module docstring).
    """
    missing = max(0, max_assignments - len(answers))
    outcome = classify_outcome(answers)
    sizes = list(range(1, max(len(offered), outcome.num_objects) + 1))
    size_counts = Counter(len(set(selected)) for selected, _ in answers)
    target = sizes.index(outcome.num_objects)
    p_num = prob_stays_mode([size_counts[s] for s in sizes], target, missing, [j > target for j in range(len(sizes))])
    labels = sorted(set(offered) | {main for _, main in answers})
    votes = Counter(main for _, main in answers)
    main_index = labels.index(outcome.main_label)
    p_main = prob_stays_mode([votes[label] for label in labels], main_index, missing, [False] * len(labels))
    return max(0.0, p_num + p_main - 1.0)


def classify_decided(answers: Sequence[tuple[Sequence[int], int]], offered: Sequence[int],
                     settings: AdaptiveSettings) -> bool:
    """Decided: the maximum is reached, or num_objects and main_label hold at it with P ≥ 1 - alpha."""
    if len(answers) >= settings.max_assignments:
        return True
    if not answers:
        return False
    return classify_confidence(answers, offered, settings.max_assignments) >= 1.0 - settings.alpha
