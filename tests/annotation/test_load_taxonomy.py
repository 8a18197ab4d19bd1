import json

import pytest
from django.core.management import CommandError, call_command

from annotation.models import LabelClass
from annotation.taxonomy import LabelResolver, TaxonomyError, load_taxonomy

pytestmark = pytest.mark.django_db


def test_it_loads_the_1000_imagenet_classes_in_sorted_wnid_order():
    assert load_taxonomy() == 1000
    tench = LabelClass.objects.get(index=0)
    assert tench.wnid == "n01440764"
    assert "Tinca tinca" in tench.lemmas
    assert tench.definition
    assert tench.hypernyms[0][0] == "n00001740" and tench.hypernyms[-1][0] == "n01440764"
    assert tench.wikipedia.startswith("https://en.wikipedia.org/wiki/")
    assert tench.superclass == "Reptiles, fish, amphibians"
    assert list(LabelClass.objects.values_list("wnid", flat=True)) == sorted(
        LabelClass.objects.values_list("wnid", flat=True)
    )


def test_it_is_idempotent_and_repairs_edited_rows():
    load_taxonomy()
    LabelClass.objects.filter(index=5).update(name="vandalised")
    assert load_taxonomy() == 1000
    assert LabelClass.objects.count() == 1000
    assert LabelClass.objects.get(index=5).name != "vandalised"


def test_it_rejects_a_malformed_file_and_keeps_stored_classes(tmp_path):
    load_taxonomy()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"classes": [{"index": 0, "wnid": "n1"}]}))
    with pytest.raises(TaxonomyError, match="malformed"):
        load_taxonomy(bad)
    assert LabelClass.objects.count() == 1000


def test_the_command_prints_a_summary(capsys):
    call_command("load_taxonomy")
    assert "Loaded 1000 classes." in capsys.readouterr().out


def test_the_command_reports_a_missing_file(monkeypatch, tmp_path):
    monkeypatch.setattr("annotation.taxonomy.TAXONOMY_FILE", tmp_path / "missing.json")
    monkeypatch.setattr("annotation.management.commands.load_taxonomy.load_taxonomy",
                        lambda: load_taxonomy(tmp_path / "missing.json"))
    with pytest.raises(CommandError, match="cannot read taxonomy file"):
        call_command("load_taxonomy")


def test_the_resolver_accepts_index_wnid_and_names():
    load_taxonomy()
    resolver = LabelResolver()
    assert resolver.resolve("0").wnid == "n01440764"
    assert resolver.resolve("N01440764").index == 0
    assert resolver.resolve("Tench").index == 0
    assert resolver.resolve("tabby cat").index == 281
    with pytest.raises(KeyError, match="unknown label"):
        resolver.resolve("unicorn")
