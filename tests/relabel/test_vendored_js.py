"""The committed JavaScript libraries are exactly the pinned npm releases (scripts/vendor_js.py)."""

import hashlib
import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _pins() -> list:
    spec = importlib.util.spec_from_file_location("vendor_js", ROOT / "scripts" / "vendor_js.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.PINNED


def test_it_commits_every_pinned_file_with_its_checksum():
    pins = _pins()
    assert {pin.package for pin in pins} >= {"vega", "vega-lite", "vega-embed", "axe-core"}
    for pin in pins:
        assert hashlib.sha256((ROOT / pin.dest).read_bytes()).hexdigest() == pin.sha256, pin.dest


def test_it_keeps_the_test_only_checker_out_of_the_served_files():
    served = [pin.dest for pin in _pins() if pin.dest.startswith("static/")]
    assert served and not any("axe" in dest for dest in served)


def test_it_ships_every_source_map_a_served_file_names():
    """collectstatic (CompressedManifestStaticFilesStorage) fails on a sourceMappingURL to a missing file."""
    for pin in _pins():
        if pin.dest.startswith("static/") and pin.dest.endswith(".js"):
            path = ROOT / pin.dest
            for name in re.findall(r"sourceMappingURL=(\S+)", path.read_text(errors="replace")):
                assert (path.parent / name).is_file(), f"{pin.dest} names {name}"
