"""The dashboard's charts as a researcher uses them, at 1280 px and 390 px: a tooltip with class names and ids and
nothing empty in it, the chart menu's SVG and PNG downloads named after the chart, the server's SVG, PNG and PDF
files, count axes without a repeated tick, figures and job names in the cards never broken in two, no warning
from Vega in the console, and axe-core's contrast and label rules on every staff page."""

import pytest

from analytics.models import JobRun
from annotation.models import Image
from tests.analytics.demo_data import build_demo_like
from tests.e2e.browser.helpers import DESKTOP, PHONE, accessibility_violations, attach_files, submit_login
from tests.e2e.browser.test_researcher_pages import chart_sizes
from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"
MAGIC = {"svg": b"<svg", "png": b"\x89PNG", "pdf": b"%PDF"}

# Each whitespace-separated word of these elements, e.g. "$0.00" or "candidate", that the browser split over two lines.
BROKEN_WORDS = """cells => cells.flatMap(cell => {
  const node = cell.firstChild;
  if (!node || node.nodeType !== Node.TEXT_NODE) { return []; }
  return Array.from(node.textContent.matchAll(/\\S+/g)).filter(match => {
    const range = document.createRange();
    range.setStart(node, match.index);
    range.setEnd(node, match.index + match[0].length);
    return range.getClientRects().length > 1;
  }).map(match => match[0]);
})"""

# The text of these elements that the browser laid out on more than one line.
ON_SEVERAL_LINES = """cells => cells.filter(cell => {
  const range = document.createRange();
  range.selectNodeContents(cell);
  return new Set(Array.from(range.getClientRects()).map(rect => Math.round(rect.top))).size > 1;
}).map(cell => cell.textContent)"""

REPEATED_TICKS = """charts => charts.flatMap(chart =>
  Array.from(chart.querySelectorAll('g.role-axis-label')).map(axis =>
    Array.from(axis.querySelectorAll('text')).map(text => text.textContent)).filter(labels =>
    new Set(labels).size !== labels.length))"""


@pytest.fixture(params=[DESKTOP, PHONE], ids=["1280px", "390px"])
def staff_page(request, app, open_page):
    """A staff user's page, logged in, on a demo-like dataset with image files; `page.vega_warnings` collects
    the console's warnings."""
    dataset = build_demo_like()
    for index, image in enumerate(Image.objects.filter(dataset=dataset).order_by("pk")):
        attach_files(image, index)
    UserFactory(username="researcher", is_staff=True)
    JobRun.objects.create(dataset=dataset, kind=JobRun.Kind.CANDIDATES, status=JobRun.Status.FAILED,
                          message="load_taxonomy:" + "x" * 240)  # one long word: it wraps, the rest stays whole
    page = open_page(viewport=request.param, accept_downloads=True, bypass_csp=True)
    page.width = request.param["width"]
    page.vega_warnings = []
    page.on("console", lambda message: page.vega_warnings.append(message.text) if message.type == "warning" else None)
    page.goto(f"{app}/accounts/login/")
    submit_login(page, "researcher", PASSWORD)
    page.wait_for_url(f"{app}/dashboard/")
    return page


def _download(page, link) -> tuple[str, bytes]:
    with page.expect_download() as info:
        link.click()
    download = info.value
    return download.suggested_filename, open(download.path(), "rb").read()


def test_it_explains_a_bar_and_downloads_its_chart(staff_page, app):
    page = staff_page
    page.goto(f"{app}/dashboard/demo-like/")
    chart_sizes(page)
    figure = page.locator("#chart-confusing")
    figure.scroll_into_view_if_needed()
    figure.locator("svg.marks .mark-rect path").first.hover()
    tooltip = page.locator("#vg-tooltip-element")
    tooltip.wait_for(state="visible")
    text = tooltip.inner_text()
    assert "class pair" in text and "ids" in text and " / " in text
    assert "null" not in text and "CI" not in text  # counts of pairs have no interval: no empty rows

    menu = figure.locator("details")
    for fmt in ("svg", "png"):
        if menu.get_attribute("open") is None:
            menu.locator("summary").click()
        name, body = _download(page, figure.locator(".vega-actions a", has_text=f"Download {fmt.upper()}"))
        assert name == f"demo-like-confusing.{fmt}" and body.startswith(MAGIC[fmt])
    for fmt in ("svg", "png", "pdf"):
        name, body = _download(page, figure.locator(f"figcaption a[href*='format={fmt}']"))
        assert name == f"demo-like-confusing.{fmt}" and body.startswith(MAGIC[fmt])

    assert page.locator(".vega-chart").evaluate_all(REPEATED_TICKS) == []
    assert page.locator(".dash-grid .card td, .jobs .job-kind, .jobs .job-status").evaluate_all(BROKEN_WORDS) == []
    assert page.locator(".dash-grid .card td").evaluate_all(ON_SEVERAL_LINES) == []  # "62 / 59 / 62" on one line
    jobs, message = page.locator(".card", has=page.locator(".jobs")), page.locator(".job-message")
    assert message.evaluate("m => m.getBoundingClientRect().right <= m.closest('.card').getBoundingClientRect().right")
    assert jobs.evaluate("card => card.scrollWidth <= card.clientWidth")
    assert [text for text in page.vega_warnings if "WARN" in text] == []
    assert page.relabel_log.problems() == []


def test_it_keeps_every_staff_page_accessible_and_within_the_screen(staff_page, app):
    page = staff_page
    image = Image.objects.filter(dataset__name="demo-like").order_by("pk").first()
    for path in ["/dashboard/", "/dashboard/demo-like/", "/dashboard/demo-like/models/",
                 "/dashboard/demo-like/label1000/", f"/dashboard/demo-like/image/{image.pk}/"]:
        page.goto(f"{app}{path}")
        if page.locator(".vega-chart").count():
            chart_sizes(page)
        assert accessibility_violations(page) == [], path
        assert page.evaluate("document.documentElement.scrollWidth") <= page.width, f"{path} scrolls sideways"
        assert page.locator(".vega-chart").evaluate_all(REPEATED_TICKS) == [], path
    assert [text for text in page.vega_warnings if "WARN" in text] == []
    assert page.relabel_log.problems() == []
