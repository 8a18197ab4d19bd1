"""tasks.adaptive restates the aggregation's decisions over counts (crowd-work code may not import analytics):
on random answers both give the same category, candidate set, num_objects and main label."""

import random

from analytics.aggregation import ClassifyAnswer, aggregate_classify, categorise
from tasks.adaptive import classify_outcome, contains_outcome

SF_RATIO = 0.5


def test_it_gives_the_contains_decisions_of_categorise():
    rng = random.Random(0)
    for _ in range(2000):
        counts = {}
        for label in range(rng.randint(1, 5)):
            shown = rng.randint(1, 9)
            counts[label] = (rng.randint(0, shown), shown)
        category, confident = categorise(0, counts, SF_RATIO, 1)
        outcome = contains_outcome(0, counts, SF_RATIO)
        assert outcome.mislabeled == (category == "mis")
        assert outcome.candidates == frozenset(confident)


def test_it_gives_the_num_objects_and_main_label_of_aggregate_classify():
    rng = random.Random(1)
    for _ in range(2000):
        offered = list(range(rng.randint(2, 5)))
        answers = []
        for _ in range(rng.randint(1, 9)):
            selected = tuple(sorted(rng.sample(offered, rng.randint(1, len(offered)))))
            answers.append((selected, rng.choice(selected)))
        aggregate = aggregate_classify([ClassifyAnswer(i, s, m) for i, (s, m) in enumerate(answers)], 0)
        outcome = classify_outcome(answers)
        assert (outcome.num_objects, outcome.main_label) == (aggregate.num_objects, aggregate.main_label)
