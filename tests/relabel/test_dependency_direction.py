"""Dependencies point one way: analytics reads the other apps and no module imports analytics.

Only the demo app, which runs the whole pipeline, may use analytics. Lazy imports inside functions
count too: they couple the apps just the same.
"""

import ast
from pathlib import Path

from django.apps import apps

ROOT = Path(__file__).resolve().parents[2]
MAY_IMPORT_ANALYTICS = {"analytics", "demo"}


def project_apps() -> list[str]:
    return sorted(config.name for config in apps.get_app_configs() if Path(config.path).parent == ROOT)


def imported_modules(source: str) -> set[str]:
    """Every absolute module a source imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def imports_analytics(source: str) -> bool:
    return any(name == "analytics" or name.startswith("analytics.") for name in imported_modules(source))


def test_it_knows_every_app_of_the_project():
    assert {"annotation", "tasks", "models_zoo", "label1000", "analytics", "demo", "relabel"} <= set(project_apps())


def test_it_flags_any_way_of_importing_analytics():
    assert imports_analytics("from analytics.services import categorise_images")
    assert imports_analytics("def f():\n    import analytics.models as m\n")
    assert imports_analytics("from analytics import charts")
    assert not imports_analytics("import analytics_extra\nfrom tasks import analytics_names")


def test_it_finds_no_module_importing_analytics():
    offenders = [
        str(path.relative_to(ROOT))
        for app in project_apps() if app not in MAY_IMPORT_ANALYTICS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts and imports_analytics(path.read_text())
    ]
    assert offenders == []
