"""Server-side rendering of a page's charts for papers: `?chart=KEY&format=svg|png|pdf` (vl-convert).

A view builds its charts, then returns `export_response(request, charts)` when it is not None.
"""

from collections.abc import Iterable

import vl_convert
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest

from relabel.charts import Chart

EXPORT_WIDTH = 720  # pixels: "container" width has no meaning outside a page
PNG_SCALE = 2
FORMATS = {"svg": "image/svg+xml", "png": "image/png", "pdf": "application/pdf"}


def render(spec: dict, fmt: str) -> bytes:
    """The chart as an SVG, PNG (2x) or PDF file."""
    fixed = {**spec, "width": EXPORT_WIDTH} if spec.get("width") == "container" else spec
    if fmt == "svg":
        return vl_convert.vegalite_to_svg(fixed).encode()
    if fmt == "png":
        return vl_convert.vegalite_to_png(fixed, scale=PNG_SCALE)
    if fmt == "pdf":
        return vl_convert.vegalite_to_pdf(fixed)
    raise ValueError(f"unknown chart format {fmt!r}: use one of {', '.join(FORMATS)}")


def export_response(request: HttpRequest, charts: Iterable[Chart], stem: str) -> HttpResponse | None:
    """The chart named by `?chart=` as a download in `?format=`, or None when the page itself is asked for."""
    fmt = request.GET.get("format")
    if fmt is None:
        return None
    if fmt not in FORMATS:
        return HttpResponseBadRequest(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    key = request.GET.get("chart", "")
    chart = next((c for c in charts if c.key == key), None)
    if chart is None:
        raise Http404(f"no chart {key!r} on this page")
    if chart.spec is None:
        raise Http404(f"chart {key!r} has no data yet")
    response = HttpResponse(render(chart.spec, fmt), content_type=FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="{stem}-{chart.key}.{fmt}"'
    return response
