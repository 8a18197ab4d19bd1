"""Crowd providers behind one interface (see base.CrowdProvider), chosen by the batch's target."""

from tasks.models import Provider
from tasks.providers.base import CrowdProvider, ProviderError, SyncReport

MTURK_TARGETS = (Provider.MTURK_SANDBOX, Provider.MTURK, Provider.SIMULATOR)


def get_provider(target: str, client=None) -> CrowdProvider:
    """The provider for a target: sandbox, production, simulator, local, link, prolific or prolific-sim."""
    if target in MTURK_TARGETS:
        from tasks.providers.mturk import MTurkProvider

        return MTurkProvider(target, client=client)
    if target == Provider.LOCAL:
        from tasks.providers.local import LocalProvider

        return LocalProvider()
    if target == Provider.LINK:
        from tasks.providers.link import LinkProvider

        return LinkProvider()
    if target in (Provider.PROLIFIC, Provider.PROLIFIC_SIM):
        from tasks.providers.prolific import ProlificProvider

        return ProlificProvider(target, client=client)
    raise ProviderError(
        f"unknown provider target {target!r}: use one of sandbox, production, simulator, local, link, prolific, "
        "prolific-sim"
    )


__all__ = ["MTURK_TARGETS", "CrowdProvider", "ProviderError", "SyncReport", "get_provider"]
