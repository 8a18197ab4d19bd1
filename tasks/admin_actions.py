"""Admin actions for the crowd operations (publish, sync, expire, approve, reject, bonus, block); thin over services."""

from collections.abc import Callable, Iterable
from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from tasks import services
from tasks.models import Assignment, Batch, Bonus, Provider, Worker
from tasks.mturk import MTurkError
from tasks.providers import ProviderError, get_provider
from tasks.providers.base import DEFAULT_REJECT_FEEDBACK
from tasks.providers.prolific import resolve_in_doubt
from tasks.transitions import TransitionError

FAILURES = (ProviderError, MTurkError, TransitionError)


def _apply(items: Iterable[Model], kind: str, operation: Callable[[Model], int]) -> tuple[int, list[str]]:
    """Run a provider operation on each item: add up what it did, and note each failure by item."""
    done, errors = 0, []
    for item in items:
        try:
            done += operation(item)
        except FAILURES as exc:
            errors.append(f"{kind} {item.pk}: {exc}")
    return done, errors


def _report(modeladmin: admin.ModelAdmin, request: HttpRequest, done: int, errors: list[str], what: str) -> None:
    modeladmin.message_user(request, f"{done} {what}.", messages.SUCCESS if not errors else messages.WARNING)
    for error in errors:
        modeladmin.message_user(request, error, messages.ERROR)


@admin.action(
    description="Publish (on the batch's provider; production only from the command line)", permissions=["change"]
)
def publish_batches(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Batch]) -> None:
    def publish(batch: Batch) -> int:
        if batch.provider == Provider.MTURK:
            raise ProviderError("publish to production with `manage.py publish_hits --production`")
        if batch.provider == Provider.PROLIFIC:
            raise ProviderError("publish to Prolific with `manage.py publish_hits --target prolific` (asks to confirm)")
        return services.publish_batch(batch, get_provider(batch.provider)).created

    _report(modeladmin, request, *_apply(queryset, "batch", publish), "HITs published")


@admin.action(description="Sync assignments (approve what passes QC, reject what fails)", permissions=["change"])
def sync_batches(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Batch]) -> None:
    errors, approved, rejected = [], 0, 0
    for batch in queryset:
        try:
            report = services.sync_batch(batch)
        except FAILURES as exc:
            errors.append(f"batch {batch.pk}: {exc}")
            continue
        approved, rejected = approved + report.approved, rejected + report.rejected
        errors += [f"batch {batch.pk}: {i} submitted with no stored answer" for i in report.missing_answer]
        errors += [f"batch {batch.pk}: {error}" for error in report.errors]
    _report(modeladmin, request, approved, errors, f"assignments approved, {rejected} rejected")


@admin.action(description="Expire (no new work is accepted)", permissions=["change"])
def expire_batches(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Batch]) -> None:
    expired = _apply(queryset, "batch", lambda batch: get_provider(batch.provider).expire(batch))
    _report(modeladmin, request, *expired, "HITs expired")


@admin.action(description="Show the cost spent so far")
def show_spent(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Batch]) -> None:
    for batch in queryset:
        cost = services.spent_cost(batch)
        modeladmin.message_user(request, f"batch {batch.pk}: ${cost.total} ({cost.approved} approved; rewards "
                                         f"${cost.rewards}, bonuses ${cost.bonuses}, fees ${cost.fees})")


def _review(queryset: QuerySet[Assignment], approve: bool) -> tuple[int, list[str]]:
    def review(assignment: Assignment) -> int:
        provider = get_provider(assignment.hit.batch.provider)
        if approve:
            provider.approve(assignment)
        else:
            feedback = services.DEFAULT_MISSING_FEEDBACK if assignment.answer_missing else DEFAULT_REJECT_FEEDBACK
            provider.reject(assignment, feedback)
        return 1

    return _apply(queryset.select_related("hit__batch", "worker"), "assignment", review)


@admin.action(description="Approve (pay) submitted assignments", permissions=["change"])
def approve_assignments(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Assignment]) -> None:
    _report(modeladmin, request, *_review(queryset, approve=True), "assignments approved")


@admin.action(description="Reject submitted assignments (with feedback saying why)", permissions=["change"])
def reject_assignments(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Assignment]) -> None:
    _report(modeladmin, request, *_review(queryset, approve=False), "assignments rejected")


@admin.action(description="Approve after all (override a rejection)", permissions=["change"])
def approve_after_all(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Assignment]) -> None:
    def override(assignment: Assignment) -> int:
        get_provider(assignment.hit.batch.provider).approve_after_all(assignment)
        return 1

    done = _apply(queryset.select_related("hit__batch", "worker"), "assignment", override)
    _report(modeladmin, request, *done, "rejected assignments approved after all")


class BonusForm(forms.Form):
    amount = forms.DecimalField(label="Amount (US$)", max_digits=8, decimal_places=2, min_value=Decimal("0.01"))
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
                             help_text="Shown to the worker with the payment.")

    def clean(self) -> dict:
        data = super().clean()
        if "amount" in data and "reason" in data:
            try:
                data["amount"], data["reason"] = services.bonus_terms(data["amount"], data["reason"])
            except services.BonusError as exc:
                raise forms.ValidationError(str(exc)) from exc
        return data


@admin.action(description="Pay a bonus…", permissions=["change"])
def pay_bonus(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Assignment]
) -> TemplateResponse | None:
    """Ask for the amount and reason on a page of its own, then pay each selected assignment once."""
    form = BonusForm(request.POST if "apply" in request.POST else None)
    selected = list(queryset.select_related("hit__batch", "worker").order_by("pk"))
    if form.is_valid():
        report = services.pay_bonuses(selected, form.cleaned_data["amount"], form.cleaned_data["reason"])
        _report(modeladmin, request, len(report.paid), report.refused, f"bonuses paid (${report.total})")
        if report.already_paid:
            ids = ", ".join(str(bonus.assignment_id) for bonus in report.already_paid)
            modeladmin.message_user(request, f"Already paid with this amount and reason, not paid again: "
                                             f"assignment {ids}.", messages.WARNING)
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Pay a bonus", "opts": modeladmin.model._meta, "form": form,
        "rows": [(assignment, services.bonus_refusal(assignment)) for assignment in selected],
        "cap": settings.RELABEL_MAX_BONUS, "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/tasks/assignment/pay_bonus.html", context)


def _toggle_block(queryset: QuerySet[Worker], block: bool) -> tuple[int, list[str]]:
    def toggle(worker: Worker) -> int:
        provider = get_provider(worker.provider if worker.provider in Provider.values else Provider.LOCAL)
        if block:
            provider.block(worker, "blocked by the requester for low-quality work")
        else:
            provider.unblock(worker)
        return 1

    return _apply(queryset, "worker", toggle)


@admin.action(description="Block workers", permissions=["change"])
def block_workers(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Worker]) -> None:
    _report(modeladmin, request, *_toggle_block(queryset, block=True), "workers blocked")


@admin.action(description="Unblock workers", permissions=["change"])
def unblock_workers(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Worker]) -> None:
    _report(modeladmin, request, *_toggle_block(queryset, block=False), "workers unblocked")


@admin.action(description="Prolific showed it paid: mark the in-doubt bonus paid", permissions=["change"])
def mark_bonuses_paid(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Bonus]) -> None:
    _report(modeladmin, request, *_apply(queryset, "bonus", lambda bonus: resolve_in_doubt(bonus, paid=True)),
            "bonuses marked paid")


@admin.action(description="Prolific showed it unpaid: let the next run pay the in-doubt bonus", permissions=["change"])
def mark_bonuses_unpaid(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Bonus]) -> None:
    _report(modeladmin, request, *_apply(queryset, "bonus", lambda bonus: resolve_in_doubt(bonus, paid=False)),
            "bonuses set back to pending")
