"""A researcher in Chromium on the Models page: imported and local models' table and plots, at desktop and
phone widths, without console errors or requests to other origins."""

import json

import numpy as np
import pytest
from django.core.management import call_command

from annotation.models import Image
from tests.analytics.demo_data import build_demo_like
from tests.e2e.browser.helpers import screenshot, submit_login
from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"


def import_models(tmp_path, count: int = 6) -> None:
    """`count` models whose top-1 is the original label with a probability from 0.35 to 0.95."""
    rng = np.random.default_rng(1)
    images = list(Image.objects.filter(dataset__name="demo-like").values_list("external_id", "original_label__index"))
    for m, accuracy in enumerate(np.linspace(0.35, 0.95, count)):
        rows = []
        for name, original in images:
            wrong = [label for label in rng.permutation(6).tolist() if label != original]
            top = [original, *wrong[:4]] if rng.random() < accuracy else [*wrong[:1], original, *wrong[1:4]]
            rows.append(json.dumps({"image": name, "labels": top}))
        path = tmp_path / f"net{m}.jsonl"
        path.write_text("\n".join(rows) + "\n")
        call_command("import_predictions", "--dataset", "demo-like", "--model", f"imported_net{m}", str(path))


@pytest.fixture
def models_page(app, open_page, tmp_path):
    build_demo_like()
    import_models(tmp_path)
    UserFactory(username="researcher", is_staff=True)

    def _open(width: int):
        page = open_page()
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{app}/accounts/login/?next=/dashboard/demo-like/models/")
        submit_login(page, "researcher", PASSWORD)
        page.wait_for_url(f"{app}/dashboard/demo-like/models/")
        return page

    return _open


@pytest.mark.parametrize("width", [1280, 390])
def test_it_shows_every_models_figures_and_the_plots(models_page, app, width):
    page = models_page(width)
    assert page.locator("#models tbody tr").count() == 8  # two that ran here, six imported
    plots = page.locator(".model-plots .vega-chart svg.marks")
    plots.first.wait_for()
    assert plots.count() >= 8
    for box in (plots.nth(n).bounding_box() for n in range(plots.count())):
        assert box["width"] > 200 and box["height"] > 200
        assert box["x"] + box["width"] <= width + 1  # never wider than the screen
    assert plots.locator("path").count() > 50
    assert page.relabel_log.problems() == []
    assert [url for url in page.relabel_log.urls() if not url.startswith(f"{app}/")] == []
    screenshot(page, f"models-page-{width}")
    page.locator(".model-plots").scroll_into_view_if_needed()
    screenshot(page, f"models-plots-{width}")
