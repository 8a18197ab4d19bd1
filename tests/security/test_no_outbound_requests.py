"""No feature fetches a user-supplied URL (no SSRF surface): no webhooks, no image URLs on import.

The only outbound clients are boto3 for MTurk, whose endpoint comes from settings
(tasks.mturk.ENDPOINTS / MTURK_ENDPOINT_URL) and never from a request; requests for Prolific, whose base
URL comes from settings (PROLIFIC_API_URL, or the simulator's); the simulated Prolific participants, which
visit this site's own pages at the address their command is given; and timm's weight download for hub
models named in the operator's model registry. (relabel/devserver imports socket for TCP_NODELAY on the
connections `runserver` accepts: no outbound connection.)
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("annotation", "tasks", "analytics", "models_zoo", "label1000", "demo", "relabel")
CLIENT_MODULES = {
    "urllib.request", "urllib3", "requests", "httpx", "http.client", "aiohttp", "pycurl", "socket",
    "smtplib", "ftplib", "xmlrpc.client", "boto3", "botocore", "huggingface_hub",
}
ALLOWED = {
    ("tasks/mturk.py", "boto3"), ("tasks/mturk.py", "botocore"),  # MTurk client, endpoint from settings
    ("tasks/simulators/mturk/validation.py", "botocore"),  # reads boto's bundled API model, no network
    ("tasks/prolific.py", "requests"),  # Prolific client, base URL from settings
    ("tasks/simulators/prolific/participants.py", "requests"),  # simulated participants on our own pages
    ("relabel/devserver/server.py", "socket"),  # an option on connections runserver accepted, nothing outbound
}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def _network_imports() -> set[tuple[str, str]]:
    result = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            for module in _imports(path):
                top = next((c for c in CLIENT_MODULES if module == c or module.startswith(c + ".")), None)
                if top:
                    result.add((str(path.relative_to(ROOT)), top))
    return result


def test_no_module_but_the_platform_clients_can_make_requests():
    assert _network_imports() - ALLOWED == set()


def test_the_mturk_endpoint_comes_from_settings_only():
    source = (ROOT / "tasks/mturk.py").read_text()
    assert "endpoint_url=settings.MTURK_ENDPOINT_URL" in source
    assert "endpoint_url=ENDPOINTS[target]" in source
    calls = [line for line in source.splitlines() if "endpoint_url=" in line]
    assert len(calls) == 2, calls


def test_the_scan_sees_a_planted_client(tmp_path):
    planted = tmp_path / "fetch.py"
    planted.write_text("import requests\nfrom urllib.request import urlopen\n")
    assert {"requests", "urllib.request"} <= _imports(planted)


def test_the_prolific_base_url_comes_from_settings_only():
    source = (ROOT / "tasks/prolific.py").read_text()
    assert "settings.PROLIFIC_API_URL" in source
