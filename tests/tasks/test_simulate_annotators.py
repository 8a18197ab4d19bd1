import pytest
from django.core.management import CommandError, call_command

from analytics.models import ClassifyResult, SelectionFrequency
from annotation.models import ClassifyResponse, ContainsJudgment
from tasks.models import Hit, Provider, Worker
from tasks.simulators.annotators import Behaviour, SimulationError, simulate
from tests.analytics.demo_data import WORKERS, build_demo_like

pytestmark = pytest.mark.django_db


def test_it_fills_contains_and_classify_hits_with_marked_simulated_workers():
    dataset = build_demo_like()
    workers = Worker.objects.filter(assignments__hit__batch__dataset=dataset).distinct()
    assert workers.count() == WORKERS
    assert all(w.is_simulated and w.provider == Provider.SIMULATED for w in workers)
    assert not Hit.objects.filter(batch__dataset=dataset).exclude(status=Hit.Status.COMPLETE).exists()
    assert ContainsJudgment.objects.filter(image__dataset=dataset).count() == 36 * WORKERS
    assert ClassifyResponse.objects.filter(image__dataset=dataset).exists()
    assert SelectionFrequency.objects.filter(image__dataset=dataset).count() == 36
    assert ClassifyResult.objects.filter(image__dataset=dataset).exists()


def test_it_is_idempotent_and_deterministic():
    dataset = build_demo_like()
    answers = sorted(ContainsJudgment.objects.values_list("assignment__worker__external_id", "image_id", "selected"))
    summary = simulate(dataset.name, "contains", workers=WORKERS)
    assert summary.assignments == 0
    assert sorted(ContainsJudgment.objects.values_list(
        "assignment__worker__external_id", "image_id", "selected")) == answers


def test_it_answers_the_true_label_with_the_configured_accuracy():
    behaviour = Behaviour(accuracy=0.9, noise=0.05)
    assert behaviour.p_select(3, 3, 0.0) == 0.9
    assert behaviour.p_select(4, 3, 0.2) == pytest.approx(0.25)
    assert behaviour.p_select(4, 3, 0.99) == 0.9


def test_it_refuses_bad_arguments():
    with pytest.raises(SimulationError, match="no dataset named"):
        simulate("missing", "contains")
    with pytest.raises(SimulationError, match="between 0 and 1"):
        simulate("missing", "contains", accuracy=1.5)
    with pytest.raises(CommandError, match="no dataset named"):
        call_command("simulate_annotators", dataset="missing", task="contains")


def test_the_command_reports_what_it_submitted(capsys):
    dataset = build_demo_like()
    call_command("simulate_annotators", dataset=dataset.name, task="classify", workers=WORKERS)
    assert "submitted 0 assignments" in capsys.readouterr().out
