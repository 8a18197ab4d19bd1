"""Fetch the pinned JavaScript libraries from the npm registry into the repository (`make vendor`).

The files are committed, so a fresh clone needs neither npm nor the network; run this only to change
a version (edit PINNED, run it, update the checksum it reports, commit). `--check` verifies the
committed files against their checksums without the network.
"""

import argparse
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]


class Pin(NamedTuple):
    package: str
    version: str
    member: str  # path inside the npm tarball
    dest: str  # path in the repository
    sha256: str


PINNED = [
    Pin("vega", "6.2.0", "package/build/vega.min.js", "static/vendor/vega.min.js",
        "ea6a5936381d06f912466354e2b6a20eb66c4d41f1ca9dff1e0236dfee6ee392"),
    Pin("vega-lite", "6.4.1", "package/build/vega-lite.min.js", "static/vendor/vega-lite.min.js",
        "6d5035fdd429b4bc6f91f3754426c3f516f3dbd8e08b105cfc2496bed4ebd254"),
    Pin("vega-embed", "7.1.0", "package/build/vega-embed.min.js", "static/vendor/vega-embed.min.js",
        "c36254270219eee58fb9b1d954decad954fb07bfc9ab780c5d4401bd445cd50c"),
    # The source maps the two files above name: collectstatic's manifest storage refuses a missing one.
    Pin("vega-lite", "6.4.1", "package/build/vega-lite.min.js.map", "static/vendor/vega-lite.min.js.map",
        "72c8fcd86cf551f32ac2962c2a9e59ca22bba3f2ada1047ea51f744a1c6a5a59"),
    Pin("vega-embed", "7.1.0", "package/build/vega-embed.min.js.map", "static/vendor/vega-embed.min.js.map",
        "4aa4b4eda57fd777867d37b48fa81dd338375d505ba5438792bf724bcae873b1"),
    # Tests only (accessibility checks in tests/e2e/browser), never served by the app.
    Pin("axe-core", "4.11.0", "package/axe.min.js", "tests/e2e/browser/vendor/axe.min.js",
        "e9e5863c33a874f09bc01acd9234b7e3c871479f5eef8802fa582544465e6d01"),
]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch(pin: Pin, workdir: Path) -> bytes:
    """The pinned file, from the package's tarball as `npm pack` downloads it."""
    npm = shutil.which("npm") or "npm"
    out = subprocess.run([npm, "pack", "--silent", f"{pin.package}@{pin.version}", "--pack-destination",  # noqa: S603 - pinned names
                          str(workdir)], check=True, capture_output=True, text=True).stdout.split()[-1]
    with tarfile.open(workdir / out) as tar:
        member = tar.extractfile(pin.member)
        if member is None:
            raise SystemExit(f"{pin.package}@{pin.version} has no {pin.member}")
        return member.read()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify the committed files, no network")
    args = parser.parse_args()
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for pin in PINNED:
            dest = ROOT / pin.dest
            data = dest.read_bytes() if args.check else fetch(pin, Path(tmp))
            if sha256(data) != pin.sha256:
                print(f"{pin.dest}: sha256 {sha256(data)} is not the pinned {pin.sha256}", file=sys.stderr)
                failed = True
                continue
            if not args.check:
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(data)
            print(f"{pin.dest}: {pin.package}@{pin.version} ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
