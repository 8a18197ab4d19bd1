"""CONTAINS on a 390-px touch screen: a tap selects a tile and nothing else (the browser's emulated mouse after a tap
must not open the enlarged view), a long press shows the image enlarged, whole, inside the screen, and letting go
closes it without selecting."""

from tasks.models import Provider
from tests.e2e.browser.helpers import PHONE, image_with_files, submit_login, wait_for_images
from tests.factories import DatasetFactory, LabelClassFactory, UserFactory
from tests.hitdata import contains_hit

PASSWORD = "correct horse battery staple"


def _touch(session, kind: str, x: float = 0, y: float = 0) -> None:
    """A finger put down (touchStart at x, y) or lifted (touchEnd), through Chromium's DevTools protocol."""
    points = [{"x": x, "y": y}] if kind == "touchStart" else []
    session.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})


def test_it_selects_on_tap_and_enlarges_on_long_press(app, open_page):
    dataset = DatasetFactory(name="browser-touch")
    label = LabelClassFactory(index=1, name="goldfish", lemmas=["goldfish"])
    contains_hit(label, [image_with_files(dataset, label, i) for i in range(4)], provider=Provider.LOCAL)
    UserFactory(username="ann")
    page = open_page(viewport=PHONE, has_touch=True, is_mobile=True)
    page.goto(f"{app}/annotate/")
    submit_login(page, "ann", PASSWORD)
    wait_for_images(page, "#grid img")
    tiles, zoom = page.locator("#grid .tile"), page.locator("#zoom")

    tiles.nth(0).scroll_into_view_if_needed()
    tiles.nth(0).tap()
    page.wait_for_timeout(300)
    assert tiles.nth(0).get_attribute("aria-pressed") == "true"
    assert not zoom.is_visible()  # a tap selects; the enlarged view stays closed

    tile = tiles.nth(1)
    box = tile.bounding_box()
    session = page.context.new_cdp_session(page)
    _touch(session, "touchStart", box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    zoom.wait_for(state="visible")
    page.wait_for_timeout(300)  # the full image has loaded and the view is placed for its size
    shown = zoom.bounding_box()
    assert shown["width"] > box["width"]
    assert shown["x"] >= 0 and shown["x"] + shown["width"] <= PHONE["width"]
    assert shown["y"] >= 0 and shown["y"] + shown["height"] <= PHONE["height"]
    _touch(session, "touchEnd")
    page.wait_for_timeout(300)
    assert not zoom.is_visible()
    assert tile.get_attribute("aria-pressed") == "false"  # a long press only looks
    assert page.relabel_log.problems() == []
