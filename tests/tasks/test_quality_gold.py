import json

import pytest

from analytics.models import SelectionFrequency
from analytics.services import aggregate_selection_frequencies
from tasks.models import HitItem
from tasks.quality import gold_accuracy, majority_agreement, worker_stats
from tasks.signing import make_token
from tests.factories import AssignmentFactory, DatasetFactory, LabelClassFactory, WorkerFactory
from tests.hitdata import contains_hit, images, judged

pytestmark = pytest.mark.django_db
POS, NEG, CAND = HitItem.Role.GOLD_POSITIVE, HitItem.Role.GOLD_NEGATIVE, HitItem.Role.CANDIDATE


def test_it_scores_gold_positives_selected_and_negatives_left_alone():
    roles = {1: POS, 2: POS, 3: NEG, 4: NEG, 5: CAND}
    assert gold_accuracy(roles, {1, 2, 5}) == 1.0
    assert gold_accuracy(roles, {1, 3}) == 0.5
    assert gold_accuracy(roles, {3, 4}) == 0.0
    assert gold_accuracy({5: CAND}, {5}) is None


def test_it_flags_a_worker_below_the_threshold_and_leaves_them_out_of_sf(client, settings):
    settings.RELABEL_GOLD_MIN_ACCURACY = 0.75
    dataset = DatasetFactory()
    pos, neg, candidate = images(3, dataset=dataset)
    hit = contains_hit(LabelClassFactory(), [pos, neg, candidate], roles={pos.pk: POS, neg.pk: NEG})
    careful, careless = AssignmentFactory(hit=hit), AssignmentFactory(hit=hit)
    for assignment, chosen in ((careful, [pos.pk, candidate.pk]), (careless, [neg.pk, candidate.pk])):
        body = json.dumps({"token": make_token(assignment), "selected": chosen})
        assert client.post(f"/hit/{hit.pk}/submit/", body, content_type="application/json").status_code == 200
        assignment.refresh_from_db()
    assert (careful.gold_accuracy, careful.flagged) == (1.0, False)
    assert (careless.gold_accuracy, careless.flagged) == (0.0, True)
    aggregate_selection_frequencies(dataset)
    assert SelectionFrequency.objects.get(image=candidate).n_shown == 1
    assert SelectionFrequency.objects.get(image=neg).n_selected == 0


def test_it_computes_per_worker_agreement_with_the_majority():
    dataset = DatasetFactory()
    a, b = images(2, dataset=dataset)
    hit = contains_hit(LabelClassFactory(), [a, b])
    odd = WorkerFactory()
    judged(hit, {a}, worker=odd)  # majority: a selected, b not → agrees on a and b
    judged(hit, {a})
    judged(hit, {a})
    other_hit = contains_hit(LabelClassFactory(), [a, b])
    judged(other_hit, {b}, worker=odd)  # majority: a selected, b not → disagrees on both
    judged(other_hit, {a})
    judged(other_hit, {a})
    stats = worker_stats(odd)
    assert stats.assignments == 2
    assert majority_agreement(odd) == 0.5
    assert stats.majority_agreement == 0.5
