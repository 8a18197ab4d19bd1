"""Staff cannot escalate through the admin: no self-made superusers, no borrowed permissions, no paying
with a view-only permission."""

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client

from tasks.models import Assignment, Provider
from tests.factories import AssignmentFactory, BatchFactory, HitFactory, UserFactory

pytestmark = pytest.mark.django_db


def _staff_with(*codenames: str) -> User:
    user = UserFactory(username="ops", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _change_form(user: User, **extra) -> dict:
    return {"username": user.username, "first_name": "", "last_name": "", "email": "", "is_active": "on",
            "last_login_0": "", "last_login_1": "", "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
            **extra}


def _escalate(client: Client, target: User) -> None:
    all_permissions = list(Permission.objects.values_list("pk", flat=True))
    group = Group.objects.get_or_create(name="admins")[0]
    client.post(f"/admin/auth/user/{target.pk}/change/", _change_form(
        target, is_superuser="on", is_staff="on", groups=[group.pk], user_permissions=all_permissions,
    ))


def test_staff_cannot_make_themselves_superuser_or_grant_themselves_permissions():
    staff = _staff_with("view_user", "change_user")
    client = _client(staff)
    assert client.get(f"/admin/auth/user/{staff.pk}/change/").status_code == 200
    _escalate(client, staff)
    staff.refresh_from_db()
    assert not staff.is_superuser
    assert set(staff.user_permissions.values_list("codename", flat=True)) == {"view_user", "change_user"}
    assert not staff.groups.exists()


def test_staff_cannot_escalate_another_account():
    client = _client(_staff_with("view_user", "change_user"))
    annotator = UserFactory(username="friend")
    _escalate(client, annotator)
    annotator.refresh_from_db()
    assert not (annotator.is_superuser or annotator.is_staff)
    assert not annotator.user_permissions.exists() and not annotator.groups.exists()


def test_staff_cannot_take_over_a_superuser_account():
    client = _client(_staff_with("view_user", "change_user", "delete_user"))
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    response = client.post(f"/admin/auth/user/{root.pk}/password/",
                           {"password1": "a-new-long-password-9", "password2": "a-new-long-password-9"})
    assert response.status_code == 403
    root.refresh_from_db()
    assert root.check_password("correct horse battery staple")
    assert client.post(f"/admin/auth/user/{root.pk}/delete/", {"post": "yes"}).status_code == 403
    assert User.objects.filter(pk=root.pk).exists()


def test_staff_cannot_add_permissions_to_a_group_they_belong_to():
    staff = _staff_with("view_group", "change_group", "add_group")
    group = Group.objects.create(name="ops")
    staff.groups.add(group)
    client = _client(staff)
    client.post(f"/admin/auth/group/{group.pk}/change/",
                {"name": "ops", "permissions": list(Permission.objects.values_list("pk", flat=True))})
    client.post("/admin/auth/group/add/", {"name": "new", "permissions": [Permission.objects.first().pk]})
    assert not group.permissions.exists() and not Group.objects.filter(name="new").exists()


def test_a_superuser_still_grants_privileges():
    client = _client(UserFactory(username="root", is_staff=True, is_superuser=True))
    annotator = UserFactory(username="promoted")
    response = client.post(f"/admin/auth/user/{annotator.pk}/change/", _change_form(annotator, is_staff="on"))
    assert response.status_code == 302, response.content[:500]
    annotator.refresh_from_db()
    assert annotator.is_staff


@pytest.mark.parametrize(
    "codenames, paid", [(("view_assignment",), False), (("view_assignment", "change_assignment"), True)]
)
def test_paying_an_assignment_from_the_admin_needs_the_change_permission(codenames, paid):
    batch = BatchFactory(provider=Provider.LOCAL)
    assignment = AssignmentFactory(hit=HitFactory(batch=batch), status=Assignment.Status.SUBMITTED)
    client = _client(_staff_with(*codenames))
    client.post("/admin/tasks/assignment/", {"action": "approve_assignments", "_selected_action": [assignment.pk]})
    assignment.refresh_from_db()
    assert (assignment.status == Assignment.Status.APPROVED) is paid


def test_annotators_cannot_reach_admin_actions():
    assignment = AssignmentFactory(status=Assignment.Status.SUBMITTED)
    response = _client(UserFactory(username="annotator")).post(
        "/admin/tasks/assignment/", {"action": "approve_assignments", "_selected_action": [assignment.pk]}
    )
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.SUBMITTED
