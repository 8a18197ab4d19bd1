"""Crowd entry pages: the link provider's study entry and completion page, and Prolific's landing URL."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from tasks import prolific_flow
from tasks.models import Batch
from tasks.providers import ProviderError, link
from tasks.starts import StartRefused, client_address


@require_GET
def link_start(request: HttpRequest, batch_id: int) -> HttpResponse:
    """A participant arrives from the platform with their id: send them to a HIT of the batch."""
    batch = get_object_or_404(Batch, pk=batch_id)
    participant = request.GET.get(batch.options.get("link_id_param", link.DEFAULT_ID_PARAM), "").strip()
    try:
        assignment = link.start(batch, participant, client_address(request.META))
    except StartRefused as exc:
        response = render(request, "tasks/link_message.html", {"detail": exc.detail}, status=exc.status)
        if exc.retry_after:
            response["Retry-After"] = str(exc.retry_after)
        return response
    except ProviderError as exc:
        return render(request, "tasks/link_message.html", {"detail": str(exc)}, status=400)
    return redirect(link.hit_url(assignment))


@csrf_exempt  # Posted by the HIT page's hand-over form, like MTurk's externalSubmit; it changes nothing.
@require_POST
def link_done(request: HttpRequest) -> HttpResponse:
    """Where the HIT page hands over after a link-provider submission: show the completion code."""
    try:
        batch, completion_url = link.finish(request.POST.get("assignmentId", ""))
    except ProviderError as exc:
        return render(request, "tasks/link_message.html", {"detail": str(exc)}, status=400)
    context = {"code": batch.options["completion_code"], "completion_url": completion_url}
    return render(request, "tasks/link_done.html", context)


@require_GET
def prolific_start(request: HttpRequest, batch_id: int) -> HttpResponse:
    """A Prolific participant arrives (or comes back): their current or next HIT, or Prolific's completion URL."""
    batch = get_object_or_404(Batch, pk=batch_id)
    arrival = prolific_flow.Arrival(*(request.GET.get(name, "").strip()
                                      for name in ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID")))
    try:
        return redirect(prolific_flow.arrive(batch, arrival))
    except prolific_flow.ArrivalRefused as exc:
        return render(request, "tasks/link_message.html", {"detail": str(exc)}, status=exc.status)
