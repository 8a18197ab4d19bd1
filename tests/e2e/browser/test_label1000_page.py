"""An expert labels images in Chromium on the 1000-way page: search, click, reorder, one image after another."""

from django.core.management import call_command

from label1000.models import Label1000Response
from tasks.models import Batch, Hit, TaskKind
from tests.e2e.browser.helpers import image_with_files, screenshot, wait_for_images
from tests.factories import DatasetFactory, LabelClassFactory

NAMES = ["tench", "goldfish", "great white shark", "tiger shark", "hammerhead", "electric ray"]


def published_label1000_hit() -> Hit:
    classes = [LabelClassFactory(index=i, name=name, lemmas=[name]) for i, name in enumerate(NAMES)]
    dataset = DatasetFactory(name="browser-label1000")
    for n, label in enumerate(classes[:3]):
        image_with_files(dataset, label, n)
    call_command("create_hits", "--dataset", dataset.name, "--task", "label1000", "--per-hit", "2",
                 "--assignments", "1", "--provider", "sandbox")
    # Images being labeled are never shown as examples (they would give the answer away): the example
    # of the last class is an image of the dataset outside the batch.
    image_with_files(dataset, classes[-1], len(NAMES) - 1)
    hit = Batch.objects.get(kind=TaskKind.LABEL1000).hits.order_by("pk").first()
    hit.status = Hit.Status.PUBLISHED
    hit.save(update_fields=["status"])
    return hit


def test_it_stores_the_ranked_labels_of_each_image(app, open_page, settings):
    settings.RELABEL_EXEMPLAR_DIR = ""  # examples come from the dataset's own images
    hit = published_label1000_hit()
    page = open_page()
    page.goto(f"{app}/hit/{hit.pk}/?assignmentId=AL1000&hitId=H1&workerId=AWORKEREXPERT")
    rows = page.locator("#l1k-classes .l1k-class")
    assert rows.count() == len(NAMES)

    page.locator("#l1k-search").fill("shark")
    page.locator("#l1k-count", has_text="2 of 6 classes").wait_for()
    assert page.locator("#l1k-classes .l1k-class:visible").count() == 2
    page.locator("#l1k-search").press("Enter")  # picks the first match
    page.locator("#l1k-search").fill("")
    page.locator("#l1k-count", has_text="6 of 6 classes").wait_for()
    page.locator('.l1k-class[data-index="1"]').click()
    example = page.locator('.l1k-class[data-index="5"]')
    example.scroll_into_view_if_needed()
    example.locator("img[src]").first.wait_for(state="attached", timeout=5_000)
    wait_for_images(page, '.l1k-class[data-index="5"] img[src]')
    assert example.locator("img").evaluate_all("all => all.map(img => img.naturalWidth)") == [320]
    page.locator('#l1k-picked button[aria-label="move up goldfish"]').click()
    assert page.locator("#l1k-picked .l1k-pick-name").all_inner_texts() == ["goldfish", "great white shark"]
    wait_for_images(page)
    screenshot(page, "label1000-hit")

    page.locator("#submit").click()
    assert page.locator("#status").inner_text() == "Not submitted: image 2 has no label yet."
    assert page.locator("#l1k-pos").inner_text() == "2"  # the page moved to the image without a label
    page.locator('.l1k-class[data-index="0"]').focus()
    page.keyboard.press("Enter")
    page.locator("#submit").click()
    page.locator("#status", has_text="Submitted. Thank you!").wait_for()

    first, second = hit.items.order_by("position").values_list("image_id", flat=True)
    stored = dict(Label1000Response.objects.filter(assignment__hit=hit).values_list("image_id", "labels"))
    assert stored == {first: [1, 2], second: [0]}
    assert page.relabel_log.problems() == []
