"""CLASSIFY at 1280 px and 390 px: clicking anywhere on a label's row ticks it, "Main" is its own target, every
image fills the same box whatever its size and shape, a label's text keeps most of its row on a phone, keyboard use
works, and axe-core finds no contrast or label issue."""

import pytest
from django.core.files.base import ContentFile

from annotation.models import ClassifyResponse
from tests.e2e.browser.helpers import DESKTOP, PHONE, accessibility_violations, picture, screenshot, wait_for_images
from tests.e2e.browser.test_classify_page import BALL, RETRIEVER, make_hit

# The size an <img> with object-fit: contain draws its picture at, against its box.
DRAWN = """imgs => imgs.map(img => { const box = img.parentElement.getBoundingClientRect();
  const r = img.getBoundingClientRect();
  const scale = Math.min(r.width / img.naturalWidth, r.height / img.naturalHeight);
  return {box: [Math.round(box.width), Math.round(box.height)],
          drawn: [Math.round(img.naturalWidth * scale), Math.round(img.naturalHeight * scale)]}; })"""


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_it_answers_by_whole_rows_with_images_of_one_size(app, open_page, viewport):
    hit, dog, ball = make_hit()
    ball.file.save("small-portrait.jpg", ContentFile(picture(1, (120, 160))))  # smaller than the box, and upright
    page = open_page(viewport=viewport, bypass_csp=True)
    page.goto(f"{app}/hit/{hit.pk}/?assignmentId=ACLASSIFY2&hitId=H2&workerId=AWORKERROWS")
    wait_for_images(page)
    first, second = page.locator(f'fieldset[data-image="{dog.pk}"]'), page.locator(f'fieldset[data-image="{ball.pk}"]')

    boxes = page.locator(".classify-image").evaluate_all(
        "all => all.map(e => e.getBoundingClientRect()).map(r => [Math.round(r.width), Math.round(r.height)])")
    assert len({tuple(b) for b in boxes}) == 1, boxes  # one box size for every image
    for image in page.locator(".classify-image img").evaluate_all(DRAWN):  # each fills its box's width or height
        assert image["drawn"][0] >= image["box"][0] - 2 or image["drawn"][1] >= image["box"][1] - 2, image
    if viewport["width"] < 600:  # the label's name and definition keep most of the row, "Main" goes below
        shares = page.locator(".label-row").evaluate_all(
            "rows => rows.map(r => r.querySelector('.label-text').getBoundingClientRect().width"
            " / r.getBoundingClientRect().width)")
        assert min(shares) >= 0.7, shares
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]

    row = first.locator(".label-row", has=page.locator(f'input.valid[value="{RETRIEVER}"]'))
    row.locator(".definition").click()  # the definition text, far from the checkbox, still ticks the label
    assert row.locator("input.valid").is_checked()
    row.locator(".main-target").click()
    assert row.locator("input.main").is_checked()

    ball_row = second.locator(".label-row", has=page.locator(f'input.valid[value="{BALL}"]'))
    ball_row.locator("input.valid").focus()
    page.keyboard.press("Space")  # keyboard: tick, then Tab to its Main radio and pick it
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    assert ball_row.locator("input.valid").is_checked() and ball_row.locator("input.main").is_checked()
    assert accessibility_violations(page) == []
    if viewport["width"] < 600:
        first.locator(".labels").scroll_into_view_if_needed()
    else:
        page.locator("h1").scroll_into_view_if_needed()
    screenshot(page, f"classify-{viewport['width']}")

    page.locator("#submit").click()
    page.locator("#status", has_text="Submitted").wait_for()
    assert ClassifyResponse.objects.filter(assignment__provider_assignment_id="ACLASSIFY2").count() == 2
    assert page.relabel_log.problems() == []
