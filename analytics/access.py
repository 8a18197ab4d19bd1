"""Who reads which dataset over the API: per-user grants and dataset-scoped tokens (only the key's hash is stored)."""

import hashlib
import secrets

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from analytics.models import ApiToken, DatasetAccess
from annotation.models import Dataset


class AccessError(ValueError):
    pass


def hash_token_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def grant_read(user: AbstractBaseUser, dataset: Dataset) -> DatasetAccess:
    """Let a non-staff user read one dataset over the API (idempotent)."""
    return DatasetAccess.objects.get_or_create(user=user, dataset=dataset)[0]


def revoke_read(user: AbstractBaseUser, dataset: Dataset) -> bool:
    """Withdraw a grant; False when there was none. The user's tokens for the dataset stop working with it."""
    deleted, _ = DatasetAccess.objects.filter(user=user, dataset=dataset).delete()
    return deleted > 0


def can_read(user: AbstractBaseUser, dataset: Dataset) -> bool:
    """Whether the API lets `user` read `dataset` (staff read everything, others need a grant)."""
    if not user.is_active:
        return False
    return user.is_staff or DatasetAccess.objects.filter(user=user, dataset=dataset).exists()


def create_scoped_token(user: AbstractBaseUser, dataset: Dataset, name: str = "") -> str:
    """A new token that reads `dataset` only; returns the key, which is not stored and cannot be shown again."""
    return _create(user, dataset, name)[1]


def issue_token(user: AbstractBaseUser, dataset: Dataset, name: str = "") -> tuple[ApiToken, str]:
    """Like create_scoped_token, for a user who can read the dataset now; returns the token row and its key."""
    if not can_read(user, dataset):
        raise AccessError(
            f"user {user.get_username()!r} cannot read dataset {dataset.name!r}, so a token would read nothing: "
            f"grant access first (manage.py api_access grant --user {user.get_username()} --dataset {dataset.name})"
        )
    return _create(user, dataset, name)


def _create(user: AbstractBaseUser, dataset: Dataset, name: str) -> tuple[ApiToken, str]:
    key = secrets.token_hex(20)
    token = ApiToken.objects.create(user=user, dataset=dataset, name=name, key_hash=hash_token_key(key))
    return token, key


def tokens() -> QuerySet[ApiToken]:
    return ApiToken.objects.select_related("user", "dataset").order_by("id")


def revoke_token(token_id: int) -> ApiToken:
    """Delete a token; the API refuses its key from then on."""
    token = tokens().filter(pk=token_id).first()
    if token is None:
        raise AccessError(f"no API token with id {token_id} (see manage.py api_access token list)")
    token.delete()
    return token
