"""Local annotators: people with accounts on this site. Nothing leaves the database."""

from tasks.models import Batch, Hit
from tasks.providers.base import CrowdProvider, SyncReport


class LocalProvider(CrowdProvider):
    """Publishing makes a HIT visible to local annotators; reviews only change our own state."""

    name = "local"

    def _push_publish(self, hit: Hit) -> list[str]:
        return []

    def sync(self, batch: Batch) -> SyncReport:
        """Review every submitted assignment by its quality-control flag."""
        return self.review_submitted(batch)
