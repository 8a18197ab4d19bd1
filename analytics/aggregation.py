"""Aggregates of human responses, as pure functions over plain values (no database).

Selection frequency (SF) of an (image, label) pair: the share of accepted workers who selected the
image in a CONTAINS grid for that label. CLASSIFY aggregates per image: how many objects, which
label is the main object, and which labels are alternatives for the same object.

Tie-breaking (also in docs/formats.md):
- num_objects: the most common number of labels a worker selected; on a tie, the smaller number.
- main_label: the most common main answer; on a tie, the label more workers selected as valid, then
  the smaller taxonomy index.
- objects: the labels split into num_objects groups by a maximum k-cut of the co-selection graph;
  among equally good splits, the first one in lexicographic order of restricted-growth strings over
  the labels in ascending index order (so a free label joins the group of the smallest label).
  Groups are listed by their smallest label, labels ascending within a group.
- main_object: the group holding most main votes; on a tie, the group holding main_label, then the
  lowest group number.

These are the `smallest` tie convention (the default). The `first-seen` convention reproduces the
paper's released aggregates: for num_objects and main_label, among tied answers the one recorded
first wins (Python's `Counter.most_common` order over answers in the order they were collected).
Either way a result says whether its num_objects or main_label was tied (such images need more
annotators).
"""

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

# Exhaustive max k-cut is used up to this many labels (Bell(10) = 115,975 partitions at most);
# above it, `greedy_k_cut`.
EXHAUSTIVE_MAX_LABELS = 10
GREEDY_MAX_PASSES = 50
TIES_SMALLEST, TIES_FIRST_SEEN = "smallest", "first-seen"
TIE_CONVENTIONS = (TIES_SMALLEST, TIES_FIRST_SEEN)


def selection_frequency(n_selected: int, n_shown: int) -> float:
    return n_selected / n_shown if n_shown else 0.0


# --- categories after CONTAINS ---------------------------------------------------------------------

EASY, MISLABELED, FOLLOW_UP, AMBIGUOUS = "easy", "mis", "fu", "amb"


def categorise(
    original: int | None, counts: Mapping[int, tuple[int, int]], sf_ratio: float, min_workers: int
) -> tuple[str, list[int]]:
    """Category of one image and its confident labels, from label → (n_selected, n_shown).

    amb: the original label was judged by fewer than `min_workers` workers (or has no label);
    mis: nobody selected the original label; otherwise the confident labels are those judged by at
    least `min_workers` workers with SF >= sf_ratio x SF(original) (the paper's rule) — easy when
    that is the original label alone, fu (CLASSIFY follow-up) when there are several.
    Confident labels are returned by decreasing SF, then ascending label.
    """
    if original is None or counts.get(original, (0, 0))[1] < max(min_workers, 1):
        return AMBIGUOUS, []
    original_selected, original_shown = counts[original]
    if original_selected == 0:
        return MISLABELED, []
    threshold = sf_ratio * original_selected / original_shown
    confident = [
        label for label, (selected, shown) in counts.items()
        if shown >= min_workers and selected > 0 and selected / shown >= threshold - 1e-12
    ]
    confident.sort(key=lambda label: (-counts[label][0] / counts[label][1], label))
    return (EASY if confident == [original] else FOLLOW_UP), confident


# --- CLASSIFY -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassifyAnswer:
    worker: int | str
    selected: tuple[int, ...]
    main: int


@dataclass(frozen=True)
class ClassifyAggregate:
    num_annotators: int
    num_objects: int
    main_label: int
    main_votes: dict[int, int]
    objects: list[list[int]]
    main_object: int
    original_object: int | None
    original_object_main_share: float | None
    num_objects_tied: bool = False
    main_label_tied: bool = False


def co_selection_weights(answers: Iterable[ClassifyAnswer]) -> Counter:
    """(a, b) with a < b → number of workers who selected both labels (so they are distinct objects)."""
    weights: Counter = Counter()
    for answer in answers:
        weights.update(combinations(sorted(set(answer.selected)), 2))
    return weights


def _within(groups: Sequence[Sequence[int]], weights: Mapping[tuple[int, int], int]) -> int:
    return sum(weights.get(pair, 0) for group in groups for pair in combinations(sorted(group), 2))


def max_k_cut(labels: Sequence[int], weights: Mapping[tuple[int, int], int], k: int) -> list[list[int]]:
    """Split `labels` into exactly min(k, len(labels)) groups maximising the weight between groups.

    Maximising the cut is minimising the weight kept inside groups, so two labels that workers
    selected together are kept apart and labels never selected together may share a group.
    Exhaustive (branch and bound) up to EXHAUSTIVE_MAX_LABELS labels, `greedy_k_cut` above.
    """
    labels = sorted(set(labels))
    k = min(k, len(labels))
    if k <= 0:
        return []
    if len(labels) > EXHAUSTIVE_MAX_LABELS:
        return _canonical(greedy_k_cut(labels, weights, k))
    best: list = [None, None]  # cost, assignment

    def search(position: int, assignment: list[int], used: int, cost: int) -> None:
        if best[0] is not None and cost >= best[0]:
            return
        if position == len(labels):
            if used == k:
                best[0], best[1] = cost, list(assignment)
            return
        if len(labels) - position < k - used:
            return
        label = labels[position]
        for group in range(min(used + 1, k)):
            added = sum(
                weights.get((labels[i], label), 0) for i in range(position) if assignment[i] == group
            )
            assignment.append(group)
            search(position + 1, assignment, max(used, group + 1), cost + added)
            assignment.pop()

    search(0, [], 0, 0)
    groups: list[list[int]] = [[] for _ in range(k)]
    for label, group in zip(labels, best[1], strict=True):
        groups[group].append(label)
    return _canonical(groups)


def greedy_k_cut(labels: Sequence[int], weights: Mapping[tuple[int, int], int], k: int) -> list[list[int]]:
    """Greedy max k-cut for large label sets.

    Labels are placed by decreasing total co-selection weight (ties: smaller label first) into the
    group where they add the least inside weight (ties: lowest group); empty groups are then filled
    with the label that has the most inside weight; finally single-label moves that strictly lower
    the inside weight are applied until none is left (at most GREEDY_MAX_PASSES passes).
    """
    def pair(a: int, b: int) -> int:
        return weights.get((min(a, b), max(a, b)), 0)

    def added(label: int, group: list[int]) -> int:
        return sum(pair(label, other) for other in group if other != label)

    degree = {label: sum(pair(label, other) for other in labels) for label in labels}
    groups: list[list[int]] = [[] for _ in range(k)]
    for label in sorted(labels, key=lambda x: (-degree[x], x)):
        target = min(range(k), key=lambda g: (added(label, groups[g]) if groups[g] else 0, g))
        groups[target].append(label)
    for empty in [g for g in range(k) if not groups[g]]:
        donor_group, label = max(
            ((g, x) for g in range(k) if len(groups[g]) > 1 for x in groups[g]),
            key=lambda item: (added(item[1], groups[item[0]]), -item[1]),
        )
        groups[donor_group].remove(label)
        groups[empty].append(label)
    for _ in range(GREEDY_MAX_PASSES):
        if not _improve_once(groups, added):
            break
    return groups


def _improve_once(groups: list[list[int]], added) -> bool:
    for source in groups:
        if len(source) < 2:
            continue
        for label in sorted(source):
            here = added(label, source)
            target = min(groups, key=lambda g: added(label, g) if g is not source else here)
            if target is not source and added(label, target) < here:
                source.remove(label)
                target.append(label)
                return True
    return False


def _canonical(groups: list[list[int]]) -> list[list[int]]:
    return sorted((sorted(group) for group in groups if group), key=lambda group: group[0])


def is_tied(counts: Counter) -> bool:
    """Whether two or more values share the highest count."""
    top = counts.most_common(2)
    return len(top) == 2 and top[0][1] == top[1][1]


def aggregate_classify(
    answers: Sequence[ClassifyAnswer], original_label: int | None, ties: str = TIES_SMALLEST
) -> ClassifyAggregate | None:
    """Aggregate the CLASSIFY answers of one image, given in the order they were collected (see the
    module docstring for the tie conventions, `ties` in TIE_CONVENTIONS).

    Returns None when there is no answer with at least one selected label.
    """
    if ties not in TIE_CONVENTIONS:
        raise ValueError(f"unknown tie convention {ties!r}: use one of {', '.join(TIE_CONVENTIONS)}")
    answers = [a for a in answers if a.selected]
    if not answers:
        return None
    selections = Counter(label for a in answers for label in set(a.selected))
    sizes = Counter(len(set(a.selected)) for a in answers)
    votes = Counter(a.main for a in answers)
    if ties == TIES_FIRST_SEEN:
        num_objects, main_label = sizes.most_common(1)[0][0], votes.most_common(1)[0][0]
    else:
        num_objects = min(sizes, key=lambda size: (-sizes[size], size))
        main_label = min(votes, key=lambda label: (-votes[label], -selections[label], label))
    objects = max_k_cut(sorted(selections), co_selection_weights(answers), num_objects)
    group_of = {label: number for number, group in enumerate(objects) for label in group}
    group_votes = Counter(group_of.get(a.main) for a in answers if a.main in group_of)
    main_object = min(
        range(len(objects)),
        key=lambda g: (-group_votes[g], g != group_of.get(main_label), g),
    )
    original_object = group_of.get(original_label) if original_label is not None else None
    share = None if original_object is None else group_votes[original_object] / len(answers)
    return ClassifyAggregate(
        num_annotators=len(answers), num_objects=num_objects, main_label=main_label,
        main_votes=dict(sorted(votes.items())), objects=objects, main_object=main_object,
        original_object=original_object, original_object_main_share=share,
        num_objects_tied=is_tied(sizes), main_label_tied=is_tied(votes),
    )
