from django.contrib import admin
from django.db.models import Avg, Count, QuerySet
from django.http import HttpRequest

from tasks.admin_actions import (
    approve_after_all,
    approve_assignments,
    block_workers,
    expire_batches,
    mark_bonuses_paid,
    mark_bonuses_unpaid,
    pay_bonus,
    publish_batches,
    reject_assignments,
    show_spent,
    sync_batches,
    unblock_workers,
)
from tasks.models import Assignment, Batch, Bonus, GoldLabel, Hit, Worker
from tasks.quality import majority_agreement, worker_stats


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin):
    list_display = ("__str__", "user", "blocked", "n_assignments", "gold_accuracy", "agreement")
    list_filter = ("provider", "blocked", "is_simulated")
    actions = [block_workers, unblock_workers]
    search_fields = ("external_id", "user__username")
    readonly_fields = ("stats",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(
            n_assignments=Count("assignments"), mean_gold=Avg("assignments__gold_accuracy")
        )

    @admin.display(ordering="n_assignments", description="assignments")
    def n_assignments(self, worker: Worker) -> int:
        return worker.n_assignments

    @admin.display(ordering="mean_gold", description="gold accuracy")
    def gold_accuracy(self, worker: Worker) -> str:
        return "—" if worker.mean_gold is None else f"{worker.mean_gold:.0%}"

    @admin.display(description="agreement with majority")
    def agreement(self, worker: Worker) -> str:
        value = majority_agreement(worker)
        return "—" if value is None else f"{value:.0%}"

    @admin.display(description="statistics")
    def stats(self, worker: Worker) -> str:
        stats = worker_stats(worker)
        gold = "—" if stats.gold_accuracy is None else f"{stats.gold_accuracy:.0%}"
        agreement = "—" if stats.majority_agreement is None else f"{stats.majority_agreement:.0%}"
        return (f"{stats.assignments} submitted assignments, {stats.flagged} flagged; "
                f"gold accuracy {gold}; agreement with majority {agreement}")


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    list_display = ("id", "dataset", "kind", "provider", "status", "reward", "assignments_per_hit", "created_at")
    list_filter = ("kind", "provider", "status")
    actions = [publish_batches, sync_batches, expire_batches, show_spent]
    readonly_fields = ("key", "options")


@admin.register(Hit)
class HitAdmin(admin.ModelAdmin):
    list_display = ("id", "batch", "label", "status", "provider_hit_id")
    list_filter = ("status", "batch__kind")
    raw_id_fields = ("batch", "label")


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = (
        "id", "hit", "worker", "status", "confirmation", "answer_missing", "gold_accuracy", "flagged", "submitted_at",
    )
    list_filter = ("status", "confirmation", "answer_missing", "flagged")
    actions = [approve_assignments, reject_assignments, approve_after_all, pay_bonus]
    search_fields = ("provider_assignment_id", "worker__external_id")
    raw_id_fields = ("hit", "worker")


@admin.register(GoldLabel)
class GoldLabelAdmin(admin.ModelAdmin):
    list_display = ("image", "label", "is_positive", "note")
    list_filter = ("is_positive",)
    raw_id_fields = ("image", "label")


@admin.register(Bonus)
class BonusAdmin(admin.ModelAdmin):
    """Bonuses are paid by `pay_bonus` and the assignment action; here only an in-doubt one is settled by hand."""

    list_display = ("id", "assignment", "amount", "status", "provider_payment_id", "created_at", "paid_at")
    list_filter = ("status",)
    search_fields = ("provider_payment_id", "assignment__worker__external_id")
    readonly_fields = ("assignment", "amount", "reason", "token", "status", "provider_payment_id", "paid_at")
    actions = [mark_bonuses_paid, mark_bonuses_unpaid]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
