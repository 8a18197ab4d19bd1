"""A worker does a CONTAINS HIT in Chromium: MTurk parameters, mouse and keyboard, submit, externalSubmit."""

from annotation.models import ContainsJudgment
from tasks.models import Assignment
from tasks.simulators.mturk.store import Store
from tests.e2e.browser.helpers import published_contains_hit, screenshot, wait_for_images
from tests.mturk_sim import accept


def test_it_stores_mouse_and_keyboard_choices_and_hands_over_to_mturk(simulator, open_page, app):
    sim_url, state = simulator
    hit = published_contains_hit()
    accepted = accept(sim_url, hit.provider_hit_id, "AWORKERBROWSER1")
    page = open_page()
    page.goto(accepted["url"])
    tiles = page.locator("#grid .tile")
    assert tiles.count() == 6
    wait_for_images(page, "#grid img")

    tiles.nth(0).click()  # mouse: select
    tiles.nth(3).click()
    tiles.nth(3).click()  # mouse: unselect again
    tiles.nth(4).click()
    tiles.nth(0).focus()
    page.keyboard.press("ArrowRight")  # keyboard: move to tile 1 and select it with Space
    page.keyboard.press("Space")
    page.keyboard.press("ArrowRight")  # tile 2 with Enter (a button's other activation key)
    page.keyboard.press("Enter")
    page.keyboard.press("Space")  # and unselect it again
    assert page.locator("#count").inner_text() == "3"
    pressed = [tiles.nth(i).get_attribute("aria-pressed") == "true" for i in range(6)]
    assert pressed == [True, True, False, False, True, False]
    page.locator("h1").hover()  # close the hover zoom before the screenshot
    screenshot(page, "contains-hit")

    with page.expect_navigation(url=f"{sim_url}/mturk/externalSubmit"):
        page.locator("#submit").click()
    assert "was submitted" in page.locator("body").inner_text()

    assignment = Assignment.objects.get(provider_assignment_id=accepted["assignmentId"])
    assert assignment.status == Assignment.Status.SUBMITTED
    images = list(hit.items.order_by("position").values_list("image_id", flat=True))
    stored = dict(ContainsJudgment.objects.filter(assignment=assignment).values_list("image_id", "selected"))
    assert stored == {image: chosen for image, chosen in zip(images, pressed, strict=True)}
    on_mturk = Store(state).load()["assignments"][accepted["assignmentId"]]
    assert on_mturk["AssignmentStatus"] == "Submitted"
    assert "6 answers stored on Relabel" in on_mturk["Answer"]  # the form's summary field (MTurk wants one)
    assert page.relabel_log.problems(origin=app) == []


def test_it_keeps_the_preview_read_only(simulator, open_page, app):
    hit = published_contains_hit(tiles=3)
    page = open_page()
    page.goto(f"{app}/hit/{hit.pk}/?assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE&hitId={hit.provider_hit_id}")
    assert page.locator(".banner.preview").is_visible()
    assert page.locator("#submit").is_disabled()
    page.locator("#grid .tile").first.click()
    assert page.locator("#grid .tile").first.get_attribute("aria-pressed") == "false"
    assert page.evaluate("window.RelabelHit.config.token") is None
    page.evaluate("window.RelabelHit.submit({selected: []})")  # even the script's own submit refuses
    page.locator("#submit").dispatch_event("click")
    page.wait_for_timeout(300)
    screenshot(page, "contains-preview")
    assert not [url for url in page.relabel_log.urls() if "/submit/" in url]
    assert not Assignment.objects.exists() and not ContainsJudgment.objects.exists()
