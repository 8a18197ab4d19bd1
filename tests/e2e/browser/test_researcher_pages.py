"""A researcher in Chromium at 1280 px and 390 px: log in (straight to the dashboard), every analysis as a
Vega-Lite chart drawn by the vendored vega-embed, an image drill-down, the REST schema UI.

Every page must render without console errors or failed requests, pass axe-core's contrast and label
rules, and only ever talk to the app's own origin (no CDN).
"""

import pytest

from analytics import report
from analytics.models import JobRun
from annotation.models import Image
from tests.analytics.demo_data import build_demo_like
from tests.e2e.browser.helpers import (
    DESKTOP,
    PHONE,
    accessibility_violations,
    attach_files,
    screenshot,
    submit_login,
    wait_for_images,
)
from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"


@pytest.fixture(params=[DESKTOP, PHONE], ids=["1280px", "390px"])
def researcher_page(request, app, open_page):
    """A logged-in staff user's page (through the login form, landing on the dashboard without `next`),
    on a demo-like dataset with image files."""
    dataset = build_demo_like()
    for index, image in enumerate(Image.objects.filter(dataset=dataset).order_by("pk")):
        attach_files(image, index)
    UserFactory(username="researcher", is_staff=True)
    JobRun.objects.create(dataset=dataset, kind=JobRun.Kind.CANDIDATES, status=JobRun.Status.FAILED,
                          message="load_taxonomy:" + "x" * 240)  # one long word: it must wrap inside its card
    page = open_page(viewport=request.param, bypass_csp=True)
    page.width = request.param["width"]
    page.goto(f"{app}/accounts/login/")
    submit_login(page, "researcher", PASSWORD)
    page.wait_for_url(f"{app}/dashboard/")
    return page


def assert_clean(page, app: str) -> None:
    assert page.relabel_log.problems() == []
    assert [url for url in page.relabel_log.urls() if not url.startswith(f"{app}/")] == []


def chart_sizes(page) -> list[tuple[float, float, int]]:
    """(width, height, number of drawn shapes) of every chart on the page, once vega-embed has drawn them all."""
    charts = page.locator(".vega-chart")
    for _ in range(100):
        if charts.count() and charts.evaluate_all("all => all.every(c => c.dataset.rendered)"):
            break
        page.wait_for_timeout(100)
    assert page.locator(".vega-chart[data-rendered=error]").count() == 0
    return page.locator(".vega-chart svg.marks").evaluate_all(
        "svgs => svgs.map(s => [s.getBoundingClientRect().width, s.getBoundingClientRect().height,"
        " s.querySelectorAll('rect, path, line, circle, polyline, text').length])"
    )


def test_it_shows_the_dashboard_and_an_image_drill_down(researcher_page, app):
    page = researcher_page
    page.locator("a", has_text="demo-like").click()
    page.wait_for_url(f"{app}/dashboard/demo-like/")
    sizes = chart_sizes(page)
    for key in report.BUILDERS:
        assert page.locator(f"section#{key} .vega-chart svg").count() >= 1, f"the {key} analysis has no chart"
    assert len(sizes) >= len(report.BUILDERS)
    assert all(width > 50 and height > 50 and shapes > 2 for width, height, shapes in sizes), sizes
    assert all(width <= page.width for width, _, _ in sizes), "a chart is wider than the page"
    assert page.evaluate("document.documentElement.scrollWidth") <= page.width, "the page scrolls sideways"
    card = page.locator(".card", has=page.locator(".jobs"))
    assert card.evaluate("c => c.scrollWidth <= c.clientWidth"), "job text spills out of its card"
    assert card.locator(".job-message").evaluate(
        "m => m.getBoundingClientRect().right <= m.closest('.card').getBoundingClientRect().right")
    assert accessibility_violations(page) == []
    page.locator("#images img").last.scroll_into_view_if_needed()
    wait_for_images(page)
    page.locator("section#accuracy").scroll_into_view_if_needed()
    screenshot(page, f"dashboard-{page.width}")

    page.locator("#images a").first.click()
    page.wait_for_url(f"{app}/dashboard/demo-like/image/*/")
    assert "Selection frequency per candidate" in page.content()
    sizes = chart_sizes(page)
    assert sizes and all(width > 50 and height > 50 and shapes > 2 for width, height, shapes in sizes), sizes
    assert page.locator(".thumbs img").count() >= 1  # nearest neighbours, with their thumbnails
    page.locator(".thumbs img").last.scroll_into_view_if_needed()
    wait_for_images(page)
    page.locator("h1").scroll_into_view_if_needed()
    screenshot(page, f"dashboard-image-{page.width}")
    assert_clean(page, app)


def test_it_serves_the_rest_schema_ui_locally(researcher_page, app):
    page = researcher_page
    page.locator("a", has_text="/api/docs/").click()
    page.wait_for_url(f"{app}/api/docs/")
    page.locator(".swagger-ui .opblock").first.wait_for()
    assert page.locator(".swagger-ui .opblock").count() >= 5
    assert "Relabel API" in page.locator(".swagger-ui .info").inner_text()
    screenshot(page, f"api-docs-{page.width}")
    assert any(url.startswith(f"{app}/api/schema/") for url in page.relabel_log.urls())
    assert_clean(page, app)
