"""No import cycle between apps except through the upward imports docs/architecture.md names and
justifies, and no run-time import cycle between modules (imports for type hints only do not count).

docs/architecture.md lists the layers bottom to top; any cycle between apps needs an import from a
lower layer to a higher one, so naming every such import names every cycle.
"""

import ast
import re

from tests.relabel.test_dependency_direction import ROOT, imports_of, project_apps

ARCHITECTURE = ROOT / "docs" / "architecture.md"
LAYERS_LINE = re.compile(r"^Layers, bottom to top: (.+)$", re.MULTILINE)
NAMED_UPWARD = re.compile(r"^- `(\w+)` → `(\w+)`: \S", re.MULTILINE)
# The project's wiring sits above every app: it names their views and templates to serve them.
PROJECT_WIRING = {"relabel.urls", "relabel.views", "relabel.wsgi", "relabel.asgi"}
# Celery's usual pair: the task module wraps jobs, and jobs queues that task with a lazy import.
MODULE_CYCLES_ALLOWED = {frozenset({"analytics.jobs", "analytics.tasks"})}


def runtime_imports(source: str) -> set[str]:
    """Absolute modules imported when the code runs (lazy imports included, `if TYPE_CHECKING:` left out)."""
    tree = ast.parse(source)
    type_only = {
        id(inner) for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for inner in ast.walk(node)
    }
    return set().union(*(imports_of(node) for node in ast.walk(tree) if id(node) not in type_only))


def module_graph() -> dict[str, set[str]]:
    """module -> project modules it imports at run time."""
    sources = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): path
        for app in project_apps() for path in (ROOT / app).rglob("*.py") if "migrations" not in path.parts
    }
    return {module: runtime_imports(path.read_text()) & set(sources) for module, path in sources.items()}


def app_of(module: str) -> str:
    return "project" if module in PROJECT_WIRING else module.split(".")[0]


def app_edges(modules: dict[str, set[str]]) -> set[tuple[str, str]]:
    return {(app_of(module), app_of(name)) for module, imported in modules.items() for name in imported
            if app_of(module) != app_of(name)}


def reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, stack = set(), [start]
    while stack:
        node = stack.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            stack.extend(graph.get(node, ()))
    return False


def edges_in_cycles(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    """Every edge a -> b such that b leads back to a."""
    return {(a, b) for a, targets in graph.items() for b in targets if reaches(graph, b, a)}


def layers() -> list[str]:
    return re.findall(r"`(\w+)`", LAYERS_LINE.search(ARCHITECTURE.read_text()).group(1))


def upward(edges: set[tuple[str, str]], order: list[str]) -> set[tuple[str, str]]:
    return {(a, b) for a, b in edges if order.index(b) > order.index(a)}


def test_it_finds_a_cycle_and_only_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert edges_in_cycles(graph) == {("a", "b"), ("b", "c"), ("c", "a")}
    assert edges_in_cycles({"a": {"b"}, "b": set()}) == set()


def test_it_ignores_imports_for_type_hints_only():
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from models_zoo.inference import X\n"
    assert "models_zoo.inference" not in runtime_imports(source)
    assert "models_zoo.lanes" in runtime_imports("def f():\n    from models_zoo import lanes\n")


def test_it_sees_that_a_cycle_needs_an_upward_import():
    order = ["low", "mid", "high"]
    assert upward({("high", "low"), ("low", "mid"), ("mid", "low")}, order) == {("low", "mid")}


def test_it_places_every_app_in_a_layer():
    assert set(project_apps()) | {"project"} <= set(layers())


def test_it_imports_upward_only_where_the_architecture_page_says_why():
    found = upward(app_edges(module_graph()), layers())
    named = set(NAMED_UPWARD.findall(ARCHITECTURE.read_text()))
    assert found - named == set(), "break these imports, or name and justify them in docs/architecture.md"
    assert named - found == set(), "docs/architecture.md names imports that are gone"


def test_it_finds_no_import_cycle_between_modules():
    cycles = {edge for edge in edges_in_cycles(module_graph()) if frozenset(edge) not in MODULE_CYCLES_ALLOWED}
    assert sorted(cycles) == []
