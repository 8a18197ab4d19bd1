"""A local annotator in Chromium at 1280 px and 390 px: log in, get the next HIT ("HIT 1 of 2"), select tiles by
mouse and keyboard, see an image enlarged beside its tile, submit, see a short confirmation on the next HIT (whose
instructions are folded), confirm an empty answer in the page (never a native dialog), until none is left."""

import pytest

from annotation.models import ContainsJudgment
from tasks.models import Assignment, Hit, HitItem, Provider
from tests.e2e.browser.helpers import (
    DESKTOP,
    PHONE,
    accessibility_violations,
    image_with_files,
    screenshot,
    wait_for_images,
)
from tests.factories import DatasetFactory, LabelClassFactory, UserFactory
from tests.hitdata import contains_hit

PASSWORD = "correct horse battery staple"


def _second_hit_in_the_batch(first: Hit, images: list) -> Hit:
    second = Hit.objects.create(batch=first.batch, label=first.label, status=Hit.Status.PUBLISHED)
    HitItem.objects.bulk_create([HitItem(hit=second, image=image, position=i) for i, image in enumerate(images)])
    return second


def _boxes(page, selector: str) -> list[dict]:
    return page.locator(selector).evaluate_all(
        "all => all.map(e => { const r = e.getBoundingClientRect();"
        " return {left: r.left, right: r.right, top: r.top, width: r.width, height: r.height}; })")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_it_walks_an_annotator_through_their_hits(app, open_page, viewport):
    width = viewport["width"]
    dataset = DatasetFactory(name="browser-local")
    label = LabelClassFactory(index=1, name="goldfish", lemmas=["goldfish", "Carassius auratus"])
    first = contains_hit(label, [image_with_files(dataset, label, i) for i in range(8)], provider=Provider.LOCAL)
    second = _second_hit_in_the_batch(first, [image_with_files(dataset, label, i) for i in range(8, 10)])
    user = UserFactory(username="ann")

    page = open_page(viewport=viewport, bypass_csp=True)
    native_dialogs = []
    page.on("dialog", lambda dialog: (native_dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{app}/annotate/")
    assert page.url.startswith(f"{app}/accounts/login/")
    page.locator("#id_username").fill("ann")
    page.locator("#id_password").fill(PASSWORD)
    screenshot(page, f"login-{width}")
    page.locator("form.login button[type=submit]").click()
    page.wait_for_url(f"{app}/hit/{first.pk}/")
    wait_for_images(page, "#grid img")
    assert page.locator(".hit-progress").inner_text().startswith("HIT 1 of 2")
    assert page.locator("details.instructions").get_attribute("open") is not None  # first HIT: open

    tiles = _boxes(page, "#grid .tile")
    if width >= 1280:
        assert min(t["width"] for t in tiles) >= 200
    else:  # two columns that fill the width
        assert len({round(t["left"]) for t in tiles}) == 2
        assert tiles[1]["right"] - tiles[0]["left"] >= width - 40
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    bar = _boxes(page, ".submitbar")[0]  # the sticky bar hides the tiles scrolling under it, their outline too
    assert bar["left"] <= min(t["left"] for t in tiles) - 4 and bar["right"] >= max(t["right"] for t in tiles) + 4

    page.locator("#grid .tile").nth(2).click()
    page.locator("#grid .tile").nth(0).focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Space")  # tile 1, by keyboard
    assert page.locator("#count").inner_text() == "2"
    if width >= 1280:  # hover zoom, beside the tile
        page.locator("#grid .tile").nth(1).hover()
        zoom, tile = _boxes(page, "#zoom")[0], _boxes(page, "#grid .tile")[1]
        assert abs(zoom["left"] - tile["right"]) <= 12 or abs(zoom["right"] - tile["left"]) <= 12
        page.mouse.move(1, 1)
    assert accessibility_violations(page) == []
    page.locator("h1").scroll_into_view_if_needed()
    screenshot(page, f"annotate-local-hit-{width}")

    page.locator("#submit").click()
    page.wait_for_url(f"{app}/hit/{second.pk}/")  # via /annotate/: the next HIT
    assert "HIT 1 submitted" in page.locator("#flash").inner_text()
    assert page.locator(".hit-progress").inner_text().startswith("HIT 2 of 2")
    before = _boxes(page, "#grid .tile")[0]
    page.locator("#flash").wait_for(state="hidden")  # a few seconds later the note goes, and nothing moves
    assert _boxes(page, "#grid .tile")[0]["top"] == before["top"]
    instructions = page.locator("details.instructions")
    assert instructions.get_attribute("open") is None  # folded after the first HIT of the session
    instructions.locator("summary").click()
    assert instructions.get_attribute("open") is not None  # one click opens it
    instructions.locator("summary").click()

    page.locator("#submit").click()  # nothing selected: the page asks, in the page
    dialog = page.locator("#confirm-empty")
    dialog.wait_for(state="visible")
    assert accessibility_violations(page) == []
    screenshot(page, f"annotate-confirm-empty-{width}")
    page.locator("#confirm-empty-back").click()
    assert not dialog.is_visible() and page.url == f"{app}/hit/{second.pk}/"
    page.locator("#submit").click()
    page.locator("#confirm-empty-submit").click()
    page.wait_for_url(f"{app}/annotate/")
    assert "All done" in page.locator("h1").inner_text()
    assert native_dialogs == []

    assignments = Assignment.objects.filter(worker__user=user, worker__provider=Provider.LOCAL).order_by("hit_id")
    assert [(a.hit_id, a.status) for a in assignments] == [
        (first.pk, Assignment.Status.SUBMITTED), (second.pk, Assignment.Status.SUBMITTED)]
    selected = ContainsJudgment.objects.filter(assignment__in=assignments, selected=True)
    assert sorted(selected.values_list("image_id", flat=True)) == sorted(
        first.items.filter(position__in=[1, 2]).values_list("image_id", flat=True))
    assert ContainsJudgment.objects.filter(assignment__in=assignments).count() == 10
    assert page.relabel_log.problems() == []
    assert [url for url in page.relabel_log.urls() if not url.startswith(f"{app}/")] == []
