import pytest
from django.core.management import CommandError, call_command

from tests.factories import DatasetFactory

pytestmark = pytest.mark.django_db


def test_it_names_a_missing_dataset():
    with pytest.raises(CommandError, match="no dataset 'nope': import it"):
        call_command("propose_candidates", "--dataset", "nope", "--sync")


def test_it_names_an_unknown_model():
    DatasetFactory(name="d")
    with pytest.raises(CommandError, match=r"Unknown model.*resnet9000"):
        call_command("propose_candidates", "--dataset", "d", "--models", "resnet9000", "--sync")


def test_it_asks_for_the_taxonomy_first():
    DatasetFactory(name="d")
    with pytest.raises(CommandError, match="load_taxonomy"):
        call_command("propose_candidates", "--dataset", "d", "--models", "efficientnet_lite0", "--sync")
