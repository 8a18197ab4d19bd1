"""Crowd task lifecycle: workers, batches, HITs with their items, assignments and their history."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models

DEFAULT_ASSIGNMENT_DURATION_SECONDS = 3600


class TaskKind(models.TextChoices):
    CONTAINS = "contains", "CONTAINS grid"
    CLASSIFY = "classify", "CLASSIFY valid labels / main object"
    LABEL1000 = "label1000", "1000-way labeling"


class Provider(models.TextChoices):
    MTURK_SANDBOX = "sandbox", "MTurk sandbox"
    MTURK = "production", "MTurk production"
    SIMULATOR = "simulator", "Offline MTurk simulator"
    LOCAL = "local", "Local annotators"
    LINK = "link", "Link + completion code (Prolific-style)"
    IMPORT = "import", "Imported responses"
    SIMULATED = "simulated", "Simulated annotators (demo)"
    PROLIFIC = "prolific", "Prolific"
    PROLIFIC_SIM = "prolific-sim", "Offline Prolific simulator"


class Worker(models.Model):
    provider = models.CharField(max_length=16, choices=Provider.choices)
    external_id = models.CharField(max_length=128)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="worker"
    )
    is_simulated = models.BooleanField(default=False)
    blocked = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "external_id"], name="unique_worker_per_provider"),
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.external_id}"


class Batch(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        PUBLISHING = "publishing"
        PUBLISHED = "published"
        DONE = "done"
        EXPIRED = "expired"

    dataset = models.ForeignKey("annotation.Dataset", on_delete=models.CASCADE, related_name="batches")
    kind = models.CharField(max_length=16, choices=TaskKind.choices)
    name = models.CharField(max_length=200, blank=True)
    provider = models.CharField(max_length=16, choices=Provider.choices, default=Provider.LOCAL)
    reward = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    assignments_per_hit = models.PositiveSmallIntegerField(default=9)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    options = models.JSONField(default=dict, blank=True, help_text="Builder and publishing options")
    key = models.CharField(
        max_length=64, blank=True,
        help_text="Deterministic key of the builder inputs (or imported file): re-running never duplicates",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key"], condition=~models.Q(key=""), name="unique_batch_key"),
        ]

    def __str__(self) -> str:
        return f"batch {self.pk} {self.kind} {self.dataset_id}"

    @property
    def assignment_duration(self) -> timedelta:
        """How long a worker has for one assignment (MTurk's AssignmentDurationInSeconds)."""
        seconds = (self.options or {}).get("assignment_duration_seconds", DEFAULT_ASSIGNMENT_DURATION_SECONDS)
        return timedelta(seconds=int(seconds))


class Hit(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        PUBLISHING = "publishing", "Claimed by a publisher"
        PUBLISHED = "published"
        COMPLETE = "complete"
        EXPIRED = "expired"

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="hits")
    label = models.ForeignKey(
        "annotation.LabelClass", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text="The class shown (CONTAINS)",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    provider_hit_id = models.CharField(max_length=128, blank=True, db_index=True)
    provider_hit_type_id = models.CharField(max_length=128, blank=True)
    provider_round_ids = models.JSONField(
        default=list, blank=True,
        help_text="Provider HIT ids of every round when a HIT is split into rounds (first = provider_hit_id)",
    )
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="When a publisher claimed this HIT")
    publish_started_at = models.DateTimeField(
        null=True, blank=True,
        help_text="When publishing was first tried: past the platform's idempotency window, a retry looks the "
                  "rounds up on the platform before creating them",
    )
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # The open HITs in the order annotators are given them (annotation.hit_pages.open_local_hits): the
            # search for a next HIT reads them in order and stops at the first few with a place left.
            models.Index(fields=["batch", "id"], condition=models.Q(status="published"), name="open_hits_in_order"),
        ]

    def __str__(self) -> str:
        return f"hit {self.pk} ({self.batch.kind})"


class HitItem(models.Model):
    """One thing a HIT asks about: an image (and, for CONTAINS, whether it is a gold control)."""

    class Role(models.TextChoices):
        CANDIDATE = "candidate"
        GOLD_POSITIVE = "gold_pos"
        GOLD_NEGATIVE = "gold_neg"

    hit = models.ForeignKey(Hit, on_delete=models.CASCADE, related_name="items")
    image = models.ForeignKey("annotation.Image", on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CANDIDATE)
    labels = models.JSONField(default=list, blank=True, help_text="CLASSIFY: taxonomy indices offered")

    class Meta:
        ordering = ["hit_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["hit", "image"], name="unique_hit_image"),
        ]

    def __str__(self) -> str:
        return f"hit {self.hit_id} #{self.position}: image {self.image_id} ({self.role})"


class Assignment(models.Model):
    class Status(models.TextChoices):
        ACCEPTED = "accepted", "Accepted by worker (in progress)"
        SUBMITTED = "submitted"
        APPROVED = "approved"
        REJECTED = "rejected"
        ABANDONED = "abandoned"

    class Confirmation(models.TextChoices):
        """Whether the platform vouches for this assignment: only confirmed work counts in aggregates."""

        UNCONFIRMED = "unconfirmed", "Not yet confirmed by the platform"
        CONFIRMED = "confirmed", "Confirmed by the platform"
        DISCARDED = "discarded", "Unknown to the platform: kept, never counted"

    hit = models.ForeignKey(Hit, on_delete=models.CASCADE, related_name="assignments")
    worker = models.ForeignKey(Worker, on_delete=models.PROTECT, related_name="assignments")
    provider_assignment_id = models.CharField(max_length=128, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACCEPTED)
    gold_accuracy = models.FloatField(null=True, blank=True)
    flagged = models.BooleanField(default=False, help_text="Failed quality control: excluded from aggregates")
    confirmation = models.CharField(
        max_length=12, choices=Confirmation.choices, default=Confirmation.UNCONFIRMED,
        help_text="Only assignments the platform confirmed count in aggregates; every creation path says which",
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    answer_missing = models.BooleanField(
        default=False,
        help_text="Submitted on the platform with no answer stored here: never reviewed automatically",
    )
    provider_round = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Which round of the HIT (index in provider_round_ids) this work came from",
    )
    bonus_paid = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    accepted_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["hit", "worker"], name="unique_assignment_per_worker"),
            models.UniqueConstraint(
                fields=["provider_assignment_id"],
                condition=~models.Q(provider_assignment_id=""),
                name="unique_provider_assignment_id",
            ),
        ]

    def __str__(self) -> str:
        return f"assignment {self.pk} ({self.status})"

    @property
    def deadline(self) -> datetime:
        """The last moment this assignment may be submitted: accepted + the batch's assignment duration."""
        return self.accepted_at + self.hit.batch.assignment_duration


class AssignmentTransition(models.Model):
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=16)
    to_status = models.CharField(max_length=16)
    note = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"assignment {self.assignment_id}: {self.from_status} → {self.to_status}"


class GoldLabel(models.Model):
    """A researcher's verdict on an (image, label) pair, used as a CONTAINS gold control."""

    image = models.ForeignKey("annotation.Image", on_delete=models.CASCADE, related_name="+")
    label = models.ForeignKey("annotation.LabelClass", on_delete=models.PROTECT, related_name="+")
    is_positive = models.BooleanField(help_text="True: the image contains the class; False: it does not")
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["image", "label"], name="unique_gold_label")]

    def __str__(self) -> str:
        return f"gold {'+' if self.is_positive else '-'} {self.image_id}/{self.label_id}"


class Bonus(models.Model):
    """A bonus paid (or being paid) for an assignment; the token makes a retried payment a no-op."""

    class Status(models.TextChoices):
        PENDING = "pending"
        PAYING = "paying", "Pay call claimed (sent, or in doubt): never sent again"
        PAID = "paid"

    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="bonuses")
    amount = models.DecimalField(max_digits=8, decimal_places=2)
    reason = models.TextField()
    token = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    provider_payment_id = models.CharField(
        max_length=64, blank=True, help_text="Prolific's bulk bonus payment id, stored before it is paid",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    attempted_at = models.DateTimeField(
        null=True, blank=True, help_text="When a process last claimed this bonus to send it (claim before paying)",
    )
    paid_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"bonus {self.amount} for assignment {self.assignment_id} ({self.status})"


class ProlificStudy(models.Model):
    """The one Prolific study of a batch. The row is the publisher's claim, made before the study is created."""

    class Status(models.TextChoices):
        CLAIMED = "claimed", "Claimed: being created (or created and not yet stored)"
        DRAFT = "draft"
        ACTIVE = "active"
        STOPPED = "stopped"

    batch = models.OneToOneField(Batch, on_delete=models.CASCADE, related_name="prolific_study")
    internal_name = models.CharField(max_length=100, unique=True, help_text="Ours: finds the study again")
    study_id = models.CharField(max_length=64, blank=True, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CLAIMED)
    claimed_at = models.DateTimeField()
    hits_per_session = models.PositiveSmallIntegerField()
    completion_code = models.CharField(max_length=32)

    def __str__(self) -> str:
        return f"Prolific study {self.study_id or '(not created)'} of batch {self.batch_id}"


class ProlificSession(models.Model):
    """One participant's Prolific submission (SESSION_ID): the HITs they get one after another."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        COMPLETED = "completed", "Sent back to Prolific with the completion code"
        RETURNED = "returned", "Returned or timed out on Prolific: unfinished HITs freed"

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="prolific_sessions")
    session_id = models.CharField(max_length=64, unique=True)
    worker = models.ForeignKey(Worker, on_delete=models.PROTECT, related_name="prolific_sessions")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Prolific session {self.session_id} ({self.status})"
