"""Static guards: templates never switch escaping off, Python never marks strings safe, page scripts
read data through json_script and never build HTML from strings (vendored libraries aside)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("annotation", "tasks", "analytics", "models_zoo", "label1000", "demo", "relabel")


def _templates() -> list[Path]:
    found = list((ROOT / "templates").rglob("*.html"))
    for app in APPS:
        found += list((ROOT / app / "templates").rglob("*.html"))
    return found


def _sources() -> list[Path]:
    return [path for app in APPS for path in (ROOT / app).rglob("*.py") if "migrations" not in path.parts]


def test_there_are_templates_and_sources_to_check():
    assert len(_templates()) >= 10 and len(_sources()) >= 40


@pytest.mark.parametrize("pattern", [r"\|\s*safe\b", r"\|\s*safeseq\b", r"{%\s*autoescape\s+off", r"\|\s*unescape"])
def test_no_template_turns_escaping_off(pattern):
    offenders = [str(p.relative_to(ROOT)) for p in _templates() if re.search(pattern, p.read_text())]
    assert not offenders, f"{pattern} in {offenders}"


def test_no_template_has_inline_script_code():
    """Page data reaches JavaScript only as {{ value|json_script:"id" }}, never inside a <script> body."""
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", re.IGNORECASE)
    offenders = [str(p.relative_to(ROOT)) for p in _templates() if inline.search(p.read_text())]
    assert not offenders


def test_mark_safe_is_never_used():
    """Charts are Vega-Lite specs passed through json_script, so no markup is built in Python."""
    offenders = [
        str(path.relative_to(ROOT)) for path in _sources()
        if re.search(r"\bmark_safe\b|\bSafeString\b|\bSafeText\b", path.read_text())
    ]
    assert not offenders


def test_format_html_never_interpolates_into_the_format_string():
    for path in _sources():
        for match in re.finditer(r"format_html\((f[\"']|[^\"'])", path.read_text()):
            raise AssertionError(f"{path}: format_html needs a literal format string, got {match.group(0)!r}")


def test_page_scripts_never_build_html_from_strings():
    ours = [p for p in (ROOT / "static").rglob("*.js") if "vendor" not in p.relative_to(ROOT / "static").parts]
    scripts = ours + [p for a in APPS for p in (ROOT / a / "static").rglob("*.js")]
    assert scripts
    sinks = re.compile(
        r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setTimeout\(\s*['\"]"
    )
    offenders = [str(p.relative_to(ROOT)) for p in scripts if sinks.search(p.read_text())]
    assert not offenders
    parsers = re.compile(r"parseFromString|createContextualFragment|DOMParser")
    assert [str(p.relative_to(ROOT)) for p in scripts if parsers.search(p.read_text())] == [PAGE_PARSER]


# The one script that parses HTML: hit.js shows a local annotator's next HIT in place from the page our server
# renders for its /hit/N/ address (as a navigation there would get it), carried by the submission's answer;
# DOMParser's document is inert and the scripts it parsed never run.
PAGE_PARSER = "static/js/hit.js"


def test_the_next_hit_is_parsed_only_from_our_own_hit_addresses():
    script = (ROOT / PAGE_PARSER).read_text()
    assert "var HIT_ADDRESS = /^\\/hit\\/\\d+\\/$/;" in script and "!HIT_ADDRESS.test(address)" in script
