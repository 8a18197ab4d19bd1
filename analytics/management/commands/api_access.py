from argparse import ArgumentParser

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics import access
from annotation.models import Dataset


def _user(username: str) -> AbstractBaseUser:
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"no user named {username!r}: create it first (manage.py createsuperuser, or the admin)")
    return user


def _dataset(name: str) -> Dataset:
    dataset = Dataset.objects.filter(name=name).first()
    if dataset is None:
        raise CommandError(f"no dataset named {name!r}")
    return dataset


class Command(BaseCommand):
    help = "Manage API read access: per-user dataset grants and dataset-scoped tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        for action, text in (("grant", "let a user read a dataset"), ("revoke", "withdraw that permission")):
            sub = actions.add_parser(action, help=text)
            sub.add_argument("--user", required=True, help="username")
            sub.add_argument("--dataset", required=True, help="dataset name")
        token = actions.add_parser("token", help="dataset-scoped API tokens").add_subparsers(
            dest="token_action", required=True)
        create: ArgumentParser = token.add_parser("create", help="create a token and print its key once")
        create.add_argument("--dataset", required=True, help="the only dataset the token reads")
        create.add_argument("--user", required=True, help="whose permission the token carries (staff or granted)")
        create.add_argument("--name", default="", help="a label to recognise the token by")
        token.add_parser("list", help="list tokens (never their keys)")
        token.add_parser("revoke", help="delete a token").add_argument("id", type=int, help="token id (see list)")

    def handle(self, *args, **opts) -> None:
        if opts["action"] == "token":
            getattr(self, f"_token_{opts['token_action']}")(opts)
        else:
            getattr(self, f"_{opts['action']}")(_user(opts["user"]), _dataset(opts["dataset"]))

    def _grant(self, user: AbstractBaseUser, dataset: Dataset) -> None:
        access.grant_read(user, dataset)
        self.stdout.write(f"{user.get_username()} can read dataset {dataset.name} over the API")

    def _revoke(self, user: AbstractBaseUser, dataset: Dataset) -> None:
        if access.revoke_read(user, dataset):
            self.stdout.write(f"{user.get_username()} can no longer read dataset {dataset.name} "
                              "(nor can their tokens for it, unless they are staff)")
        else:
            self.stdout.write(f"{user.get_username()} had no grant on dataset {dataset.name}: nothing to do")

    def _token_create(self, opts: dict) -> None:
        try:
            token, key = access.issue_token(_user(opts["user"]), _dataset(opts["dataset"]), opts["name"])
        except access.AccessError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(key)
        self.stderr.write(f"token {token.pk} reads dataset {token.dataset.name} for {token.user.get_username()}; "
                          "send it as `Authorization: Token <key>`. The key is not stored: copy it now.")

    def _token_list(self, opts: dict) -> None:
        rows = [(str(t.pk), t.name or "-", t.user.get_username(), t.dataset.name, f"{t.created_at:%Y-%m-%d %H:%M}",
                 f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never") for t in access.tokens()]
        if not rows:
            self.stdout.write("no API tokens")
            return
        self.stdout.write("id\tname\tuser\tdataset\tcreated\tlast used")
        for row in rows:
            self.stdout.write("\t".join(row))

    def _token_revoke(self, opts: dict) -> None:
        try:
            token = access.revoke_token(opts["id"])
        except access.AccessError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"revoked token {opts['id']} ({token.name or 'unnamed'}) of dataset {token.dataset.name}")
