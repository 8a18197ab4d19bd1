"""Next-HIT benchmark: a local annotator in Chromium submits a CONTAINS HIT; how long until the next HIT
is ready?

"Ready" is the next HIT visible and usable, measured in the page itself (browser clock, no Playwright round
trip in it): from the Submit click (the click event's own time stamp) until
- the next HIT is in the page: a new document parsed with its scripts run (DOMContentLoaded), or the same
  document showing it (its address changed, the new HIT's elements inserted: the page may replace a HIT in
  place);
- its Submit button is there and enabled;
- every image of the first screen (each `<img>` in `<main>` that intersects the viewport) has been painted,
  by the browser's own Element Timing report (the time the frame showing it was presented), not merely
  loaded.
The latest of those is the step's time. Beside it: when the submission's answer and the next HIT's HTML
arrived (resource timing), how many steps showed the next HIT in place, and the `load` event of the new
documents (the figure this bench reported before: it fires before lazy tiles have even started loading, so
it said nothing about what the annotator sees).

Default mode, the demo server: `manage.py runserver` (SQLite, DEBUG) on a fresh database under a temporary
RELABEL_VAR_DIR, with one local batch of --hits CONTAINS HITs of --grid images (256 px thumbnails, as
import_images makes them). Each measured step: the annotator looks at the HIT for --think seconds (whatever
the page does meanwhile counts, as it would for a person), clicks "Submit", the answers are posted and the
next /hit/N/ page loads. --code runs the server (and builds its database) from another checkout, e.g. a
`git worktree` of the code before a change; give it several times to compare them, in alternation over
--rounds, so that each sees the same machine:

    .venv/bin/python bench/bench_next_hit.py [--hits 21] [--grid 48] [--think 2] [--code DIR ...] [--rounds 1]

Probe mode, against a server someone else started (bench/bench_load.py --next-hit-probe): log in as --user
on --origin, walk --hits HITs of whatever local batch is open to them (starting no step after --until), print
the steps as JSON:

    .venv/bin/python bench/bench_next_hit.py --origin http://127.0.0.1:8000 --user NAME --password PW --json
"""

import argparse
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu"]
PASSWORD = "bench-password-123"
VIEWPORT = {"width": 1280, "height": 800}

# Runs in every document before its own scripts. Records the Submit click's time; then, in whichever document
# shows the next HIT (a new one, or this one when the page replaces its HIT in place), when that HIT was in
# the page (DOMContentLoaded, or the same-document address change) and when each first-screen image was
# painted (Element Timing: the browser's own report of when an image was presented).
READY_PROBE = r"""
(() => {
  const store = window.sessionStorage;
  const absolute = (t) => performance.timeOrigin + t;
  let shownAt = null;
  let clickedUrl = null;
  document.addEventListener("click", (event) => {
    if (event.target instanceof Element && event.target.closest("#submit")) {
      store.setItem("bench.click", String(absolute(event.timeStamp)));
      performance.clearResourceTimings();
      clickedUrl = window.location.href;
      shownAt = null;
      window.__benchReady = undefined;
      window.requestAnimationFrame(check);
    }
  }, true);
  window.addEventListener("pagehide", () => {
    const sent = performance.getEntriesByType("resource").filter((r) => r.name.includes("/submit/")).pop();
    if (sent) { store.setItem("bench.submitted", String(absolute(sent.responseEnd))); }
  });
  document.addEventListener("DOMContentLoaded", () => { shownAt = performance.now(); });
  const paintedAt = new Map();
  new PerformanceObserver((list) => {
    list.getEntries().forEach((entry) => {
      if (entry.element && !paintedAt.has(entry.element)) { paintedAt.set(entry.element, entry.renderTime); }
    });
  }).observe({type: "element", buffered: true});
  new MutationObserver(() => {
    document.querySelectorAll("main img:not([elementtiming])").forEach((img) => {
      img.setAttribute("elementtiming", "bench");
    });
    if (clickedUrl !== null && shownAt === null && window.location.href !== clickedUrl) { shownAt = performance.now(); }
  }).observe(document, {childList: true, subtree: true});
  function firstScreen() {
    return Array.from(document.querySelectorAll("main img")).filter((img) => {
      const box = img.getBoundingClientRect();
      return box.width > 0 && box.height > 0 && box.bottom > 0 && box.top < window.innerHeight;
    });
  }
  function usable() {
    const button = document.getElementById("submit");
    return Boolean(button) && !button.disabled;
  }
  function check() {
    const images = firstScreen();
    if (!document.prerendering && shownAt !== null && usable() && images.length > 0
        && images.every((img) => paintedAt.get(img) > 0)) {
      window.__benchReady = absolute(Math.max(shownAt, ...images.map((img) => paintedAt.get(img))));
      window.__benchInPlace = clickedUrl !== null;
      return;
    }
    window.requestAnimationFrame(check);
  }
  window.requestAnimationFrame(check);
})();
"""

COLLECT = """() => {
  const at = (t) => performance.timeOrigin + t;
  const last = (match) => performance.getEntriesByType("resource").filter(match).pop();
  const inPlace = window.__benchInPlace;
  const nav = performance.getEntriesByType("navigation")[0];
  // In place, the next HIT's HTML came with the submission's answer, or from a request of its own.
  const sent = inPlace ? last((r) => r.name.includes("/submit/")) : null;
  const fetched = inPlace ? last((r) => r.name === window.location.href) || sent : nav;
  return {click: Number(sessionStorage.getItem("bench.click")),
          submitted: inPlace ? at(sent.responseEnd) : Number(sessionStorage.getItem("bench.submitted")),
          html: at(fetched.responseEnd), ready: window.__benchReady, load: inPlace ? null : at(nav.loadEventStart),
          inPlace: inPlace};
}"""


@dataclass(frozen=True)
class Step:
    """One submit → next HIT, in milliseconds from the Submit click."""

    submitted: float  # the submission's response received
    html: float  # the next page's HTML received
    ready: float  # visible and usable (see the module docstring)
    load: float | None  # the `load` event of a new document (None: the HIT was shown in place)


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


def measure(origin: str, user: str, password: str, hits: int, think: float, until: float | None = None) -> list[Step]:
    """Log in, then time each submit → next HIT ready, over `hits` HITs (one fewer steps); no step starts after
    the wall-clock time `until`."""
    from playwright.sync_api import sync_playwright

    steps = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=VIEWPORT)
        context.add_init_script(READY_PROBE)
        page = context.new_page()
        page.goto(f"{origin}/accounts/login/?next=/annotate/")
        page.locator("#id_username").fill(user)
        page.locator("#id_password").fill(password)
        page.locator("form.login button[type=submit]").click()
        page.wait_for_url(f"{origin}/hit/*/", wait_until="load")
        for _ in range(hits - 1):
            current = page.url
            page.locator("#grid .tile").nth(3).click()
            page.wait_for_timeout(think * 1000)
            if until is not None and time.time() > until:
                break
            page.locator("#submit").click()
            page.wait_for_url(lambda url, before=current: url != before and "/hit/" in url, wait_until="load")
            page.wait_for_function("() => window.__benchReady !== undefined")
            times = page.evaluate(COLLECT)
            steps.append(Step(*(times[name] - times["click"] for name in ("submitted", "html", "ready")),
                              None if times["inPlace"] else times["load"] - times["click"]))
        browser.close()
    return steps


def wait_for_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the server did not answer on port {port} within {seconds:.0f} s")


def demo_server_steps(code: Path, hits: int, grid: int, think: float) -> list[Step]:
    """A fresh database and `manage.py runserver` from the checkout `code`, measured from Chromium."""
    with tempfile.TemporaryDirectory(prefix="bench-next-hit-") as var:
        env = {**os.environ, "RELABEL_VAR_DIR": var, "DJANGO_SETTINGS_MODULE": "relabel.settings",
               "DEBUG": "true", "DATABASE_URL": f"sqlite:///{var}/relabel.sqlite3"}
        subprocess.run([sys.executable, __file__, "--build-world", "--code", str(code), "--hits", str(hits),
                        "--grid", str(grid)], cwd=code, env=env, check=True)
        port = free_port()
        server = subprocess.Popen([sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
                                  cwd=code, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(port)
            return measure(f"http://127.0.0.1:{port}", "annotator", PASSWORD, hits, think)
        finally:
            server.terminate()
            server.wait(timeout=10)


def summary_row(label: str, steps: list[Step]) -> str:
    ready = sorted(step.ready for step in steps)
    deciles = statistics.quantiles(ready, n=10)
    loads = [step.load for step in steps if step.load is not None]

    def median(values: list[float]) -> str:
        return f"{statistics.median(values):.0f}" if values else "-"

    return (f"| {label} | {len(steps)} | **{median(ready)}** | {deciles[0]:.0f} | {deciles[-1]:.0f} | {ready[-1]:.0f} "
            f"| {median([step.submitted for step in steps])} | {median([step.html for step in steps])} "
            f"| {len(steps) - len(loads)} | {median(loads)} |")


TABLE_HEAD = (
    "| code | steps | ready, median ms | p10 ms | p90 ms | max ms | submission answered, median ms "
    "| next HTML received, median ms | shown in place | load event (new document), median ms |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hits", type=int, default=21, help="HITs to walk through (one fewer measurements)")
    parser.add_argument("--grid", type=int, default=48)
    parser.add_argument("--think", type=float, default=2.0,
                        help="seconds the annotator looks at each HIT before submitting (0: submit at once)")
    parser.add_argument("--code", type=Path, action="append",
                        help="checkout to serve (repeat to compare; default: this one)")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each --code, in alternation")
    parser.add_argument("--origin", help="probe mode: measure against this running server")
    parser.add_argument("--user", default="annotator")
    parser.add_argument("--password", default=PASSWORD)
    parser.add_argument("--until", type=float, help="probe mode: start no step after this time (epoch seconds)")
    parser.add_argument("--json", action="store_true", help="print the steps as JSON instead of a table")
    parser.add_argument("--build-world", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    codes = [path.resolve() for path in args.code or [ROOT]]
    if args.build_world:
        sys.path.insert(0, str(codes[0]))
        build_world(args.hits, args.grid)
        return 0
    if args.origin:
        results = {args.origin: measure(args.origin, args.user, args.password, args.hits, args.think, args.until)}
    else:
        results = {code: [] for code in codes}
        for _ in range(args.rounds):
            for code in codes:
                results[code] += demo_server_steps(code, args.hits, args.grid, args.think)
    if args.json:
        print(json.dumps({str(key): [asdict(step) for step in steps] for key, steps in results.items()}))
        return 0
    print(TABLE_HEAD)
    for key, steps in results.items():
        print(summary_row(str(key), steps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
