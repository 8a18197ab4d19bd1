"""A researcher tops up an adaptive CONTAINS run from the dashboard, on a wide and a phone-sized screen."""

import pytest

from tasks.builders import ContainsOptions, build_contains_batch
from tasks.models import Batch, Provider, TaskKind
from tasks.simulators.annotators import simulate
from tests.analytics.demo_data import build_candidates
from tests.e2e.browser.helpers import accessibility_violations, screenshot, submit_login
from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"


@pytest.mark.parametrize("width", [1280, 390])
def test_it_shows_the_adaptive_section_and_tops_up_from_its_button(app, open_page, width):
    dataset = build_candidates(n_images=12)
    build_contains_batch(dataset, ContainsOptions(grid=8, gold=0, assignments=3, provider=Provider.SIMULATED,
                                                  adaptive={"min_assignments": 3, "max_assignments": 9, "alpha": 0.05}))
    simulate(dataset.name, TaskKind.CONTAINS, workers=3, accuracy=0.8, noise=0.1)
    UserFactory(username="researcher", is_staff=True)
    page = open_page()
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{app}/accounts/login/?next=/dashboard/{dataset.name}/")
    submit_login(page, "researcher", PASSWORD)
    section = page.locator("section#adaptive")
    section.scroll_into_view_if_needed()
    assert "CONTAINS" in section.inner_text()
    assert accessibility_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, f"adaptive-{width}")

    section.locator("button", has_text="Top up undecided images").click()
    page.wait_for_url(f"{app}/dashboard/{dataset.name}/#adaptive")
    assert Batch.objects.filter(options__adaptive__round=1).exists()
    assert page.relabel_log.problems() == []
