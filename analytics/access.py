"""API tokens scoped to one dataset: creation and key hashing (only the hash is stored)."""

import hashlib
import secrets

from django.contrib.auth.models import AbstractBaseUser

from analytics.models import ApiToken, DatasetAccess
from annotation.models import Dataset


def hash_token_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def grant_read(user: AbstractBaseUser, dataset: Dataset) -> DatasetAccess:
    """Let a non-staff user read one dataset over the API (idempotent)."""
    return DatasetAccess.objects.get_or_create(user=user, dataset=dataset)[0]


def create_scoped_token(user: AbstractBaseUser, dataset: Dataset, name: str = "") -> str:
    """A new token that reads `dataset` only; returns the key, which is not stored and cannot be shown again."""
    key = secrets.token_hex(20)
    ApiToken.objects.create(user=user, dataset=dataset, name=name, key_hash=hash_token_key(key))
    return key
