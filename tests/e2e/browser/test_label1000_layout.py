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
