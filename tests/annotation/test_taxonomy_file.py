"""Invariants of the committed ImageNet-1k taxonomy file (no Django needed)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TAXONOMY_FILE = REPO_ROOT / "annotation/data/imagenet1k.json"
GENERATOR = REPO_ROOT / "scripts/build_taxonomy.py"
WORDNET_DIR = Path("/usr/share/wordnet")
ROOT_WNID = "n00001740"
SUPERCLASSES = {
    "Dogs",
    "Other mammals",
    "Birds",
    "Reptiles, fish, amphibians",
    "Invertebrates",
    "Food, plants, fungi",
    "Devices",
    "Structures, furnishing",
    "Clothes, covering",
    "Implements, containers, misc. objects",
    "Vehicles",
}


@pytest.fixture(scope="module")
def taxonomy() -> dict:
    return json.loads(TAXONOMY_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def by_wnid(taxonomy: dict) -> dict[str, dict]:
    return {entry["wnid"]: entry for entry in taxonomy["classes"]}


def test_thousand_classes_in_index_order(taxonomy: dict) -> None:
    classes = taxonomy["classes"]
    assert len(classes) == 1000
    assert [entry["index"] for entry in classes] == list(range(1000))
    assert len({entry["wnid"] for entry in classes}) == 1000
    assert [entry["wnid"] for entry in classes] == sorted(entry["wnid"] for entry in classes)
    assert classes[0]["wnid"] == "n01440764"
    assert classes[0]["name"] == "tench"


def test_header(taxonomy: dict) -> None:
    assert taxonomy["source"].startswith("WordNet 3.0")
    assert set(taxonomy["superclasses"]) == SUPERCLASSES
    assert len(taxonomy["superclasses"]) == 11
    assert set(taxonomy["superclass_roots"]) == SUPERCLASSES


def test_every_entry_is_complete(taxonomy: dict) -> None:
    for entry in taxonomy["classes"]:
        assert entry["name"].strip(), entry
        assert entry["lemmas"], entry
        assert entry["definition"].strip(), entry
        assert '"' not in entry["definition"], entry
        assert entry["wikipedia"].startswith("https://en.wikipedia.org/wiki/"), entry
        assert " " not in entry["wikipedia"], entry
        assert entry["superclass"] in SUPERCLASSES, entry


def test_hypernym_paths_run_from_entity_to_class(taxonomy: dict) -> None:
    for entry in taxonomy["classes"]:
        path = entry["hypernyms"]
        assert path[0] == [ROOT_WNID, "entity"], entry["wnid"]
        assert path[-1] == [entry["wnid"], entry["lemmas"][0]], entry["wnid"]
        assert len({wnid for wnid, _ in path}) == len(path), entry["wnid"]


@pytest.mark.parametrize(
    ("wnid", "name", "superclass"),
    [
        ("n02098286", "West Highland white terrier", "Dogs"),
        ("n02097658", "silky terrier", "Dogs"),
        ("n01530575", "brambling", "Birds"),
        ("n04285008", "sports car", "Vehicles"),
        ("n07753592", "banana", "Food, plants, fungi"),
    ],
)
def test_known_classes(by_wnid: dict[str, dict], wnid: str, name: str, superclass: str) -> None:
    assert by_wnid[wnid]["name"] == name
    assert by_wnid[wnid]["superclass"] == superclass


def test_dogs_and_birds_counts(taxonomy: dict) -> None:
    superclasses = [entry["superclass"] for entry in taxonomy["classes"]]
    assert superclasses.count("Dogs") == 118
    assert 55 <= superclasses.count("Birds") <= 65
    assert set(superclasses) == SUPERCLASSES


def test_generator_reproduces_committed_file(tmp_path: Path) -> None:
    if not (WORDNET_DIR / "data.noun").is_file():
        reason = f"{WORDNET_DIR}/data.noun missing: install Debian package wordnet-base"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (required when CI=true)")
        pytest.skip(reason)
    output = tmp_path / "imagenet1k.json"
    command = [sys.executable, str(GENERATOR), "--wordnet-dir", str(WORDNET_DIR), "--output", str(output)]
    subprocess.run(command, check=True, capture_output=True, text=True)
    assert output.read_bytes() == TAXONOMY_FILE.read_bytes()
