"""Build ``annotation/data/imagenet1k.json``: the ImageNet-1k class taxonomy from WordNet 3.0.

Run from the repository root (needs the Debian package ``wordnet-base``)::

    apt-get install -y wordnet-base
    python3 scripts/build_taxonomy.py [--wordnet-dir /usr/share/wordnet] [--output PATH]

Inputs: ``<wordnet-dir>/data.noun`` plus ``scripts/imagenet1k_wnids.txt`` and
``scripts/imagenet1k_short_names.txt`` (one class per line, in the standard sorted class order).
A wnid ``n02098286`` is the byte offset ``2098286`` of the synset's line in ``data.noun``.

Each class gets its WordNet lemmas, gloss definition (without example sentences), one
hypernym path from ``entity`` to the class (first hypernym pointer at each step), a
Wikipedia link and one of the 11 superclasses of Tsipras et al. 2020,
"From ImageNet to Image Classification".

Superclass assignment: a class takes the FIRST superclass, in this precedence order, one of
whose root synsets is among its ancestors (all ``@``/``@i`` hypernym pointers, not only the
first; the class itself counts as its own ancestor):

 1. Dogs                        dog n02084071 (domestic dog only; wolves, foxes etc. are mammals)
 2. Other mammals               mammal n01861778
 3. Birds                       bird n01503061
 4. Reptiles, fish, amphibians  reptile n01661091, fish n02512053, amphibian n01627424
 5. Invertebrates               invertebrate n01905661
 6. Food, plants, fungi         food n00021265, food/solid food n07555863, plant n00017222,
                                fungus n12992868, plant part n13086908
 7. Vehicles                    vehicle n04524313, conveyance n03100490
 8. Structures, furnishing      structure n04341686, furnishing n03405265
 9. Devices                     device n03183080, electronic equipment n03278248, apparatus n02727825,
                                photographic equipment n03926148, appliance n02729837,
                                communication system n03078287
10. Clothes, covering           clothing n03051540, covering n03122748
11. Implements, containers, misc. objects   everything else (containers, implements, sports
                                equipment, toiletries, geological formations, people, ...)

Why this order: Vehicles precede Structures and Devices (missile is also a weapon/device,
mobile home also housing); Structures and Devices precede the broad "covering" root, so
curtains and the prayer rug are furnishings and the seat belt a device, while roofs, shields,
caps and screens whose only match is "covering" stay in "Clothes, covering".
The exact roots are in ``SUPERCLASS_ROOTS`` (a dict in precedence order); ``SUPERCLASSES`` is
the display order written to the JSON.
The output is deterministic: running the script twice gives byte-identical files.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SCRIPTS_DIR = REPO_ROOT / "scripts"
DEFAULT_WORDNET_DIR = Path("/usr/share/wordnet")
DEFAULT_OUTPUT = REPO_ROOT / "annotation" / "data" / "imagenet1k.json"
WNIDS_FILE = SCRIPTS_DIR / "imagenet1k_wnids.txt"
SHORT_NAMES_FILE = SCRIPTS_DIR / "imagenet1k_short_names.txt"

SOURCE = (
    "WordNet 3.0 (Princeton University, Debian package wordnet-base, data.noun); "
    "superclasses after Tsipras et al. 2020, 'From ImageNet to Image Classification'"
)
ROOT_WNID = "n00001740"
HYPERNYM_POINTERS = ("@", "@i")
MISC = "Implements, containers, misc. objects"

# Precedence order matters: the first superclass with a root among the ancestors wins.
SUPERCLASS_ROOTS: dict[str, list[str]] = {
    "Dogs": ["n02084071"],  # dog, domestic dog (not wolves, foxes, ...)
    "Other mammals": ["n01861778"],  # mammal
    "Birds": ["n01503061"],  # bird
    "Reptiles, fish, amphibians": ["n01661091", "n02512053", "n01627424"],  # reptile, fish, amphibian
    "Invertebrates": ["n01905661"],  # invertebrate
    # food (nutrient), food (solid food), plant, fungus, plant part
    "Food, plants, fungi": ["n00021265", "n07555863", "n00017222", "n12992868", "n13086908"],
    "Vehicles": ["n04524313", "n03100490"],  # vehicle, conveyance
    "Structures, furnishing": ["n04341686", "n03405265"],  # structure, furnishing
    # device, electronic equipment, apparatus, photographic equipment, appliance, communication system
    "Devices": ["n03183080", "n03278248", "n02727825", "n03926148", "n02729837", "n03078287"],
    "Clothes, covering": ["n03051540", "n03122748"],  # clothing, covering
    MISC: [],
}
# Display order of the superclasses (as listed by Tsipras et al.); not the precedence order.
SUPERCLASSES = [
    "Dogs",
    "Other mammals",
    "Birds",
    "Reptiles, fish, amphibians",
    "Invertebrates",
    "Food, plants, fungi",
    "Devices",
    "Structures, furnishing",
    "Clothes, covering",
    MISC,
    "Vehicles",
]


@dataclass(frozen=True)
class Synset:
    """The parts of one ``data.noun`` line that the taxonomy needs."""

    wnid: str
    lemmas: list[str]
    hypernyms: list[str]
    definition: str


def parse_definition(gloss: str) -> str:
    """Return the gloss without its quoted example sentences (NLTK's convention)."""
    parts = [part.strip() for part in gloss.split(";")]
    return "; ".join(part for part in parts if part and not part.startswith('"'))


def parse_line(line: str) -> Synset:
    """Parse one synset line of ``data.noun``."""
    data, _, gloss = line.partition(" | ")
    fields = data.split()
    word_count = int(fields[3], 16)
    lemmas = [fields[4 + 2 * i].replace("_", " ") for i in range(word_count)]
    pos = 4 + 2 * word_count
    pointer_count = int(fields[pos])
    hypernyms = []
    for i in range(pointer_count):
        symbol, offset, ptr_pos = fields[pos + 1 + 4 * i : pos + 4 + 4 * i]
        if symbol in HYPERNYM_POINTERS and ptr_pos == "n":
            hypernyms.append(f"n{offset}")
    return Synset(f"n{fields[0]}", lemmas, hypernyms, parse_definition(gloss.strip()))


def load_nouns(wordnet_dir: Path) -> dict[str, Synset]:
    """Read every noun synset of ``data.noun`` keyed by wnid."""
    path = wordnet_dir / "data.noun"
    if not path.is_file():
        sys.exit(f"error: {path} not found; install Debian package wordnet-base")
    synsets: dict[str, Synset] = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.startswith("  "):
                synset = parse_line(line.rstrip("\n"))
                synsets[synset.wnid] = synset
    return synsets


def read_lines(path: Path) -> list[str]:
    """Non-empty stripped lines of a text file."""
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def hypernym_path(wnid: str, synsets: dict[str, Synset]) -> list[list[str]]:
    """Root-to-class path following the first hypernym pointer, as ``[wnid, first lemma]`` pairs."""
    path = []
    current: str | None = wnid
    while current is not None:
        synset = synsets[current]
        path.append([current, synset.lemmas[0]])
        current = synset.hypernyms[0] if synset.hypernyms else None
    return path[::-1]


def ancestors(wnid: str, synsets: dict[str, Synset]) -> set[str]:
    """All ancestors via any hypernym pointer, including the synset itself."""
    seen: set[str] = set()
    stack = [wnid]
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(synsets[current].hypernyms)
    return seen


def superclass_of(wnid: str, synsets: dict[str, Synset]) -> str:
    """First superclass (in precedence order) with a root among the ancestors."""
    found = ancestors(wnid, synsets)
    for name, roots in SUPERCLASS_ROOTS.items():
        if found.intersection(roots):
            return name
    return MISC


def build_class(index: int, wnid: str, name: str, synsets: dict[str, Synset]) -> dict[str, object]:
    """The JSON entry for one class."""
    synset = synsets[wnid]
    return {
        "index": index,
        "wnid": wnid,
        "name": name,
        "lemmas": synset.lemmas,
        "definition": synset.definition,
        "hypernyms": hypernym_path(wnid, synsets),
        "wikipedia": "https://en.wikipedia.org/wiki/" + synset.lemmas[0].replace(" ", "_"),
        "superclass": superclass_of(wnid, synsets),
    }


def check_roots(synsets: dict[str, Synset]) -> None:
    """Fail loudly if a configured root is not a noun synset."""
    missing = [wnid for roots in SUPERCLASS_ROOTS.values() for wnid in roots if wnid not in synsets]
    if missing:
        sys.exit(f"error: superclass roots not in data.noun: {missing}")


def build_classes(synsets: dict[str, Synset]) -> list[dict[str, object]]:
    """All 1000 class entries in index order."""
    wnids = read_lines(WNIDS_FILE)
    names = read_lines(SHORT_NAMES_FILE)
    if len(wnids) != len(names):
        sys.exit(f"error: {len(wnids)} wnids but {len(names)} short names")
    unknown = [wnid for wnid in wnids if wnid not in synsets]
    if unknown:
        sys.exit(f"error: wnids not in data.noun: {unknown[:10]}")
    pairs = zip(wnids, names, strict=True)
    return [build_class(index, wnid, name, synsets) for index, (wnid, name) in enumerate(pairs)]


def dumps(value: object) -> str:
    """Compact deterministic JSON."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def render(classes: list[dict[str, object]]) -> str:
    """The whole file: header keys on the first line, then one class per line."""
    header = (
        f'{{"source":{dumps(SOURCE)},"superclasses":{dumps(SUPERCLASSES)},'
        f'"superclass_roots":{dumps(SUPERCLASS_ROOTS)},"classes":[\n'
    )
    return header + ",\n".join(dumps(entry) for entry in classes) + "\n]}\n"


def print_counts(classes: list[dict[str, object]]) -> None:
    """Print the number of classes per superclass."""
    for name in SUPERCLASSES:
        count = sum(1 for entry in classes if entry["superclass"] == name)
        print(f"{count:5d}  {name}")
    print(f"{len(classes):5d}  total")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wordnet-dir", type=Path, default=DEFAULT_WORDNET_DIR, help="holds data.noun")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON file to write")
    parser.add_argument("--quiet", action="store_true", help="do not print superclass counts")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = parse_args(argv)
    if not args.wordnet_dir.is_dir():
        sys.exit(f"error: WordNet directory {args.wordnet_dir} missing; install Debian package wordnet-base")
    synsets = load_nouns(args.wordnet_dir)
    check_roots(synsets)
    classes = build_classes(synsets)
    text = render(classes)
    json.loads(text)  # the file must stay valid JSON
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    if not args.quiet:
        print_counts(classes)
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
