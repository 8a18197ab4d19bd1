"""A researcher in Chromium: log in, the dashboard with every chart, an image drill-down, the REST schema UI.

Every page must render without console errors or failed requests, and only ever talk to the app's own
origin (no CDN).
"""

import pytest

from analytics import report
from annotation.models import Image
from tests.analytics.demo_data import build_demo_like
from tests.e2e.browser.helpers import attach_files, screenshot, wait_for_images
from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"


@pytest.fixture
def researcher_page(app, open_page):
    """A logged-in staff user's page (through the login form), on a demo-like dataset with image files."""
    dataset = build_demo_like()
    for index, image in enumerate(Image.objects.filter(dataset=dataset).order_by("pk")):
        attach_files(image, index)
    UserFactory(username="researcher", is_staff=True)
    page = open_page()
    page.goto(f"{app}/accounts/login/?next=/dashboard/")
    page.locator("#id_username").fill("researcher")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form.login button[type=submit]").click()
    page.wait_for_url(f"{app}/dashboard/")
    return page


def assert_clean(page, app: str) -> None:
    assert page.relabel_log.problems() == []
    assert [url for url in page.relabel_log.urls() if not url.startswith(f"{app}/")] == []


def chart_sizes(page) -> list[tuple[float, float, int]]:
    """(width, height, number of drawn shapes) of every SVG chart on the page."""
    return page.locator("main svg").evaluate_all(
        "svgs => svgs.map(s => [s.getBoundingClientRect().width, s.getBoundingClientRect().height,"
        " s.querySelectorAll('rect, path, line, circle, polyline, text').length])"
    )


def test_it_shows_the_dashboard_and_an_image_drill_down(researcher_page, app):
    page = researcher_page
    page.locator("a", has_text="demo-like").click()
    page.wait_for_url(f"{app}/dashboard/demo-like/")
    for key in report.BUILDERS:
        assert page.locator(f"section#{key} svg").count() >= 1, f"the {key} analysis has no chart"
    sizes = chart_sizes(page)
    assert len(sizes) >= len(report.BUILDERS)
    assert all(width > 50 and height > 50 and shapes > 2 for width, height, shapes in sizes), sizes
    page.locator("#images img").last.scroll_into_view_if_needed()
    wait_for_images(page)
    page.locator("section#accuracy").scroll_into_view_if_needed()
    screenshot(page, "dashboard")

    page.locator("#images a").first.click()
    page.wait_for_url(f"{app}/dashboard/demo-like/image/*/")
    assert "Selection frequency per candidate" in page.content()
    sizes = chart_sizes(page)
    assert sizes and all(width > 50 and height > 50 and shapes > 2 for width, height, shapes in sizes), sizes
    assert page.locator(".thumbs img").count() >= 1  # nearest neighbours, with their thumbnails
    page.locator(".thumbs img").last.scroll_into_view_if_needed()
    wait_for_images(page)
    page.locator("h1").scroll_into_view_if_needed()
    screenshot(page, "dashboard-image")
    assert_clean(page, app)


def test_it_serves_the_rest_schema_ui_locally(researcher_page, app):
    page = researcher_page
    page.locator("a", has_text="/api/docs/").click()
    page.wait_for_url(f"{app}/api/docs/")
    page.locator(".swagger-ui .opblock").first.wait_for()
    assert page.locator(".swagger-ui .opblock").count() >= 5
    assert "Relabel API" in page.locator(".swagger-ui .info").inner_text()
    screenshot(page, "api-docs")
    assert any(url.startswith(f"{app}/api/schema/") for url in page.relabel_log.urls())
    assert_clean(page, app)
