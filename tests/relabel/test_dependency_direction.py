"""Dependencies point one way: analytics reads annotation, tasks and models_zoo; nothing imports analytics."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMPORTS_ANALYTICS = re.compile(r"^\s*(from analytics[\s.]|import analytics\b)", re.MULTILINE)


def test_no_lower_layer_imports_analytics():
    offenders = [
        str(path.relative_to(ROOT))
        for app in ("annotation", "tasks", "models_zoo", "relabel")
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts and IMPORTS_ANALYTICS.search(path.read_text())
    ]
    assert offenders == []
