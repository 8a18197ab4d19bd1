"""What the browser tests share: the page log, screenshots, and images with real files to look at."""

import io
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management import call_command
from PIL import Image as PILImage
from PIL import ImageDraw

from annotation.models import Dataset, Image, LabelClass
from tasks.models import Hit, HitItem, Provider, TaskKind
from tests.factories import BatchFactory, DatasetFactory, HitFactory, ImageFactory, LabelClassFactory

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
COLORS = [(214, 96, 77), (67, 147, 195), (120, 180, 90), (240, 190, 70), (150, 110, 180), (90, 90, 90)]


@dataclass
class PageLog:
    """What a page did that a test may want to check: errors, failed requests, every requested URL."""

    console_errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    requests: list = field(default_factory=list)  # Playwright Request objects, in order

    def watch(self, page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.console_errors.append(f"{exc} (at {page.url})"))
        page.on("request", lambda request: self.requests.append(request))
        page.on("requestfailed", self._request_failed)
        page.on("response", lambda r: self.failed.append(f"{r.url} (HTTP {r.status})") if r.status >= 400 else None)

    def _console(self, message) -> None:
        if message.type == "error":
            self.console_errors.append(f"{message.text} (at {message.location.get('url') or 'the page'})")

    def _request_failed(self, request) -> None:
        if request.failure != "net::ERR_ABORTED":  # cancelled by the test navigating on, not a failure
            self.failed.append(f"{request.url} ({request.failure})")

    def urls(self) -> list[str]:
        return [request.url for request in self.requests]

    def problems(self, origin: str = "") -> list[str]:
        """Console errors and failed requests, only those about URLs of `origin` when given."""
        found = [*(f"console: {text}" for text in self.console_errors), *(f"request: {text}" for text in self.failed)]
        return [line for line in found if f"{origin}/" in line] if origin else found


def screenshot(page, name: str) -> Path:
    """var/screenshots/<name>.png of the viewport (small enough to copy into docs/screenshots/)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=path)
    return path


def wait_for_images(page, selector: str = "main img[src]", timeout_ms: int = 10_000) -> None:
    """Until every image matching `selector` has loaded (polled: the pages' CSP forbids wait_for_function's eval)."""
    images = page.locator(selector)
    for _ in range(timeout_ms // 100):
        if images.evaluate_all("all => all.every(img => img.complete && img.naturalWidth > 0)"):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"images still loading or broken on {page.url}")


def picture(index: int, size: tuple[int, int] = (320, 240)) -> bytes:
    """A small JPEG with a distinct colour and shape per index, so tiles can be told apart on screen."""
    background = COLORS[index % len(COLORS)]
    shape = COLORS[(index + 2) % len(COLORS)]
    image = PILImage.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    width, height = size
    box = (width // 4, height // 4, 3 * width // 4, 3 * height // 4)
    [draw.ellipse, draw.rectangle, draw.polygon][index % 3](
        box if index % 3 < 2 else [(width // 2, height // 5), (width // 5, 4 * height // 5),
                                    (4 * width // 5, 4 * height // 5)],
        fill=shape,
    )
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


def image_with_files(dataset: Dataset, label: LabelClass, index: int) -> Image:
    """An Image with its file and thumbnail stored under MEDIA_ROOT, as the importer leaves them."""
    image = ImageFactory(dataset=dataset, original_label=label, width=320, height=240,
                         external_id=f"picture_{index:03d}.jpg")
    return attach_files(image, index)


def attach_files(image: Image, index: int) -> Image:
    """Give an existing Image a picture file and a thumbnail (and the matching sha256)."""
    data = picture(index)
    image.sha256 = sha256(data).hexdigest()
    image.file.save(f"picture_{index:03d}.jpg", ContentFile(data), save=False)
    image.thumbnail.save("thumb.jpg", ContentFile(data), save=False)
    image.save(update_fields=["sha256", "file", "thumbnail"])
    return image


def published_contains_hit(tiles: int = 6) -> Hit:
    """A CONTAINS HIT of `tiles` images with files, published on the simulator."""
    label = LabelClassFactory(index=207, name="golden retriever", lemmas=["golden retriever"],
                              definition="an English breed having a long silky golden coat")
    dataset = DatasetFactory(name="browser-contains")
    batch = BatchFactory(dataset=dataset, kind=TaskKind.CONTAINS, provider=Provider.SIMULATOR,
                         reward="0.10", assignments_per_hit=3)
    hit = HitFactory(batch=batch, label=label)
    HitItem.objects.bulk_create([
        HitItem(hit=hit, image=image_with_files(dataset, label, i), position=i) for i in range(tiles)
    ])
    call_command("publish_hits", "--batch", batch.pk, "--target", "simulator", stdout=io.StringIO())
    hit.refresh_from_db()
    assert hit.status == Hit.Status.PUBLISHED
    return hit


AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"  # axe-core, pinned in scripts/vendor_js.py
AXE_RULES = ["color-contrast", "label", "image-alt", "button-name", "link-name", "aria-input-field-name",
             "select-name", "document-title", "html-has-lang"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def accessibility_violations(page) -> list[str]:
    """axe-core's contrast and label rules on the page as it is now (the context needs bypass_csp=True:
    axe is injected as an inline script, which the HIT pages' CSP would refuse)."""
    page.add_script_tag(path=str(AXE))
    results = page.evaluate(
        "rules => axe.run(document, {runOnly: {type: 'rule', values: rules}, resultTypes: ['violations']})",
        AXE_RULES,
    )
    return [f"{v['id']}: {node['target']} {node.get('failureSummary', '')}"
            for v in results["violations"] for node in v["nodes"]]


def submit_login(page, username: str, password: str) -> None:
    """Fill the login form already on `page` and send it."""
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator("form.login button[type=submit]").click()
