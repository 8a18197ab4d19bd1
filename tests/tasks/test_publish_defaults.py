"""publish_hits publishes on the batch's own provider by default, prints fees only where the platform charges
them, and every step says what to run next."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tasks.models import Batch, Hit
from tasks.services import estimate_cost
from tests.mturk_sim import make_batch

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_it_publishes_a_local_batch_locally_without_a_target():
    batch = make_batch(hits=2, provider="local")
    output = _run("publish_hits", "--batch", str(batch.pk))
    assert f"Batch {batch.pk} on local: 2 HITs published" in output
    assert set(batch.hits.values_list("status", flat=True)) == {Hit.Status.PUBLISHED}
    assert "fees $0.00" in output and "No platform fee" in output and "MTurk fee" not in output
    assert "/annotate/" in output and f"aggregate --dataset {batch.dataset.name}" in output


def test_it_refuses_a_batch_that_is_not_published_anywhere_without_a_target():
    batch = make_batch(hits=1, provider="import")
    with pytest.raises(CommandError, match="give --target"):
        _run("publish_hits", "--batch", str(batch.pk))
    assert Batch.objects.get(pk=batch.pk).status == Batch.Status.DRAFT


def test_it_charges_fees_only_on_mturk():
    local = estimate_cost(make_batch(hits=1, assignments=3, reward="0.10", provider="local"))
    assert (str(local.fees), str(local.total), local.could_split) == ("0.00", "0.30", False)
    on_mturk = estimate_cost(make_batch(hits=1, assignments=3, reward="0.10", provider="local"), provider="sandbox")
    assert str(on_mturk.fees) == "0.06"


def test_it_dry_runs_a_local_batch_with_its_next_step_unprinted():
    batch = make_batch(hits=1, provider="local")
    output = _run("publish_hits", "--batch", str(batch.pk), "--dry-run")
    assert "Dry run: nothing was created." in output and "Next:" not in output


@pytest.fixture
def pets():
    from tests.factories import CandidateLabelFactory, DatasetFactory, ImageFactory, LabelClassFactory

    dataset = DatasetFactory(name="pets")
    tabby = LabelClassFactory(index=1, name="tabby")
    for _ in range(4):
        CandidateLabelFactory(image=ImageFactory(dataset=dataset, original_label=tabby), label=tabby)
    return dataset


@pytest.mark.parametrize(("provider", "fee"), [("local", "no platform fee on local"), ("sandbox", "plus MTurk's fee")])
def test_create_hits_says_what_to_run_next_and_which_fee_applies(pets, provider, fee):
    err = StringIO()
    out = StringIO()
    call_command("create_hits", "--dataset", "pets", "--task", "contains", "--grid", "4", "--gold", "2",
                 "--provider", provider, stdout=out, stderr=err)
    batch = Batch.objects.get()
    assert fee in out.getvalue()
    assert f"Next: python manage.py publish_hits --batch {batch.pk}" in out.getvalue()
    assert "fewer gold controls than asked" in err.getvalue() and "Gold controls are tiles" in err.getvalue()
