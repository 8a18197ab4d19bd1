"""Next-HIT benchmark: a local annotator in Chromium submits a CONTAINS HIT; how long until the next HIT
page is ready (its `load` event: the page, its scripts and its visible thumbnails; the tiles load lazily)?

Runs the demo server as `make demo` does (`manage.py runserver`, SQLite, DEBUG) on a fresh database under
a temporary RELABEL_VAR_DIR, with one local batch of --hits CONTAINS HITs of 48 images (256 px thumbnails,
as import_images makes them). The browser is Debian's Chromium driven by Playwright. Each measured step:
the annotator looks at the HIT for --think seconds (whatever the page does meanwhile counts, as it would for
a person), clicks "Submit", the answers are posted, and the next /hit/N/ page loads (through /annotate/ and
its redirect where a submission answers with /annotate/). Prints the median and percentiles in
milliseconds, and the next page's navigation time (redirects and HTML, from the browser's timing).

    .venv/bin/python bench/bench_next_hit.py [--hits 21] [--grid 48] [--think 2]
"""

import argparse
import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "bench-password-123"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def picture(index: int) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (256, 192), ((index * 47) % 256, (index * 91) % 256, (index * 13) % 256))
    ImageDraw.Draw(image).ellipse((64, 48, 192, 144), fill=((index * 29) % 256, 120, 200))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def build_world(hits: int, grid: int) -> None:
    """One local CONTAINS batch of `hits` published HITs of `grid` images with files, and an annotator."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.files.base import ContentFile
    from django.core.management import call_command

    from annotation.models import Dataset, Image, LabelClass
    from tasks.models import Batch, Hit, HitItem, Provider, TaskKind

    call_command("migrate", verbosity=0)
    label = LabelClass.objects.create(index=1, wnid="n01443537", name="goldfish", lemmas=["goldfish"],
                                      definition="small golden or orange-red freshwater fishes")
    dataset = Dataset.objects.create(name="bench-next-hit")
    batch = Batch.objects.create(dataset=dataset, kind=TaskKind.CONTAINS, provider=Provider.LOCAL,
                                 assignments_per_hit=1, reward=0, status=Batch.Status.PUBLISHED)
    for h in range(hits):
        hit = Hit.objects.create(batch=batch, label=label, status=Hit.Status.PUBLISHED)
        for position in range(grid):
            index = h * grid + position
            image = Image(dataset=dataset, external_id=f"img_{index:05d}.jpg", original_label=label,
                          width=256, height=192, sha256=f"{index:064x}")
            data = picture(index)
            image.file.save(f"img_{index:05d}.jpg", ContentFile(data), save=False)
            image.thumbnail.save(f"img_{index:05d}.jpg", ContentFile(data), save=False)
            image.save()
            HitItem.objects.create(hit=hit, image=image, position=position)
    get_user_model().objects.create_user("annotator", password=PASSWORD)


def measure(origin: str, hits: int, think: float) -> list[tuple[float, float]]:
    """(total ms, server ms) for each submit → next HIT loaded."""
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        page.goto(f"{origin}/accounts/login/?next=/annotate/")
        page.locator("#id_username").fill("annotator")
        page.locator("#id_password").fill(PASSWORD)
        page.locator("form.login button[type=submit]").click()
        page.wait_for_url(f"{origin}/hit/*/", wait_until="load")
        for _ in range(hits - 1):
            current = page.url
            page.locator("#grid .tile").nth(3).click()
            page.wait_for_timeout(think * 1000)
            start = time.perf_counter()
            page.locator("#submit").click()
            page.wait_for_url(lambda url, before=current: url != before and "/hit/" in url, wait_until="load")
            total = (time.perf_counter() - start) * 1000
            server = page.evaluate(
                "() => { const nav = performance.getEntriesByType('navigation')[0];"
                " return nav.responseEnd - nav.startTime; }")
            results.append((total, server))
        browser.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hits", type=int, default=21, help="HITs in the batch (one fewer measurements)")
    parser.add_argument("--grid", type=int, default=48)
    parser.add_argument("--think", type=float, default=2.0,
                        help="seconds the annotator looks at each HIT before submitting (0: submit at once)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-next-hit-") as var:
        env = {**os.environ, "RELABEL_VAR_DIR": var, "DJANGO_SETTINGS_MODULE": "relabel.settings",
               "DEBUG": "true", "DATABASE_URL": f"sqlite:///{var}/relabel.sqlite3"}
        os.environ.update(env)
        sys.path.insert(0, str(ROOT))
        build_world(args.hits, args.grid)
        port = free_port()
        server = subprocess.Popen([sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
                                  cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            origin = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            results = measure(origin, args.hits, args.think)
        finally:
            server.terminate()
            server.wait(timeout=10)
    totals = sorted(total for total, _ in results)
    nav = sorted(server for _, server in results)
    quantiles = statistics.quantiles(totals, n=10)
    print("| grid | HITs measured | median ms | p10 ms | p90 ms | max ms | next page HTML, median ms |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {args.grid} | {len(totals)} | {statistics.median(totals):.0f} | {quantiles[0]:.0f} | "
          f"{quantiles[-1]:.0f} | {totals[-1]:.0f} | {statistics.median(nav):.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
