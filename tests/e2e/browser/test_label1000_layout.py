"""The 1000-way page at 1280 px and 390 px: no sideways scrolling on phones, whole class names, a filter whose
label says how many classes it keeps, numbered picks, and each image marked done once labelled."""

import pytest

from models_zoo.models import Prediction
from tests.e2e.browser.helpers import DESKTOP, PHONE, accessibility_violations, screenshot, wait_for_images
from tests.e2e.browser.test_label1000_page import NAMES, published_label1000_hit


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_it_fits_the_screen_and_marks_progress(app, open_page, settings, viewport):
    settings.RELABEL_EXEMPLAR_DIR = ""
    hit = published_label1000_hit()
    for item in hit.items.all():  # two models whose top-2 overlap: three classes together
        Prediction.objects.create(image_id=item.image_id, model_name="a", labels=[0, 1], probs=[0.6, 0.3])
        Prediction.objects.create(image_id=item.image_id, model_name="b", labels=[1, 2], probs=[0.5, 0.4])
    page = open_page(viewport=viewport, bypass_csp=True)
    page.goto(f"{app}/hit/{hit.pk}/?assignmentId=AL1000L&hitId=H1&workerId=AWORKERLAYOUT")
    page.locator("#l1k-classes .l1k-class").first.wait_for()
    width = viewport["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page scrolls sideways"
    cut = page.locator(".l1k-name").evaluate_all(
        "all => all.filter(e => e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1).length")
    assert cut == 0, "a class name is cut"

    page.locator("#l1k-prune").check()
    label = page.locator("#l1k-prune-label").inner_text()
    shown = page.locator("#l1k-classes .l1k-class:visible").count()
    assert label == f"Only the models' {shown} likeliest classes" and shown == 3
    assert page.locator("#l1k-count").inner_text() == f"{shown} of {len(NAMES)} classes"
    page.locator("#l1k-prune").uncheck()

    page.locator('.l1k-class[data-index="1"]').click()
    page.locator('.l1k-class[data-index="0"]').focus()
    page.keyboard.press("Enter")
    assert page.locator("#l1k-picked .l1k-pick-rank").all_inner_texts() == ["1", "2"]  # numbered picks
    assert page.locator('.l1k-class[data-index="1"] .l1k-rank').inner_text() == "1"
    dots = page.locator("#l1k-dots .l1k-dot")
    assert dots.nth(0).get_attribute("aria-label") == "image 1, labelled"
    assert dots.nth(1).get_attribute("aria-label") == "image 2, no label yet"
    dots.nth(1).click()
    assert page.locator("#l1k-pos").inner_text() == "2"
    dots.nth(0).click()
    assert accessibility_violations(page) == []
    wait_for_images(page, "#l1k-image")
    screenshot(page, f"label1000-{width}")
    assert page.relabel_log.problems() == []


def _focused_row(page) -> str | None:
    return page.evaluate("document.activeElement.classList.contains('l1k-class') ? document.activeElement.dataset.index"
                         " : null")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_it_moves_through_the_class_list_with_arrow_keys(app, open_page, settings, viewport):
    """The list of 1000 classes is one stop for Tab (not 1000 of them before Submit); arrows move within it."""
    settings.RELABEL_EXEMPLAR_DIR = ""
    hit = published_label1000_hit()
    page = open_page(viewport=viewport)
    page.goto(f"{app}/hit/{hit.pk}/?assignmentId=AL1000K&hitId=H1&workerId=AWORKERKEYS")
    page.locator("#l1k-classes .l1k-class").first.wait_for()
    order = page.locator("#l1k-classes .l1k-class").evaluate_all("rows => rows.map(row => row.dataset.index)")
    page.locator("#l1k-search").focus()
    page.keyboard.press("ArrowDown")  # from the search box into the list
    assert _focused_row(page) == order[0]
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert _focused_row(page) == order[2]
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    assert page.locator("#l1k-picked .l1k-pick-name").all_inner_texts() == [NAMES[int(order[1])]]
    page.keyboard.press("End")
    assert _focused_row(page) == order[-1]
    page.keyboard.press("Home")
    assert _focused_row(page) == order[0]

    page.locator("#l1k-search").fill("shark")  # arrows skip the rows the search hides
    page.locator("#l1k-count", has_text="2 of 6 classes").wait_for()
    sharks = [index for index in order if "shark" in NAMES[int(index)]]
    page.locator("#l1k-search").press("ArrowDown")
    assert _focused_row(page) == sharks[0]
    page.keyboard.press("ArrowDown")
    assert _focused_row(page) == sharks[1]
    page.keyboard.press("Tab")  # one Tab leaves the list
    assert _focused_row(page) is None
    page.keyboard.press("Shift+Tab")  # and one comes back to the row it left
    assert _focused_row(page) == sharks[1]
    assert page.relabel_log.problems() == []


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_it_offers_no_model_filter_for_an_image_without_predictions(app, open_page, settings, viewport):
    settings.RELABEL_EXEMPLAR_DIR = ""
    hit = published_label1000_hit()
    first = hit.items.order_by("position").first()
    Prediction.objects.create(image_id=first.image_id, model_name="a", labels=[0, 1], probs=[0.6, 0.3])
    page = open_page(viewport=viewport)
    page.goto(f"{app}/hit/{hit.pk}/?assignmentId=AL1000N&hitId=H1&workerId=AWORKERNOPRED")
    page.locator("#l1k-classes .l1k-class").first.wait_for()
    page.locator("#l1k-prune").check()
    assert page.locator("#l1k-classes .l1k-class:visible").count() == 2
    page.locator("#l1k-next").click()  # the second image has no prediction: the filter cannot apply
    assert page.locator("#l1k-prune").is_disabled() and not page.locator("#l1k-prune").is_checked()
    assert page.locator("#l1k-prune-label").inner_text() == "No model predictions for this image"
    assert page.locator("#l1k-classes .l1k-class:visible").count() == len(NAMES)
    page.locator("#l1k-prev").click()
    assert page.locator("#l1k-prune").is_enabled()
    assert page.locator("#l1k-prune-label").inner_text() == "Only the models' 2 likeliest classes"
    assert page.relabel_log.problems() == []
