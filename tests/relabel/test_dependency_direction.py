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


def imports_of(node: ast.AST) -> set[str]:
    """The absolute modules one statement imports (`from a import b` names `a` and `a.b`)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return set()


def imported_modules(source: str) -> set[str]:
    """Every absolute module a source imports, at the top or inside a function."""
    return set().union(*(imports_of(node) for node in ast.walk(ast.parse(source))))


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
