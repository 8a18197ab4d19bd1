"""Accounts in the admin: staff manage users, but only superusers hand out privileges.

Django's stock UserAdmin lets any staff member with the "change user" permission tick
is_superuser, or add permissions and groups, on their own account; and edit a group they belong
to. Here those fields are read-only for non-superusers, superuser accounts can be changed (and
their passwords reset) only by superusers, and groups are managed by superusers only.
"""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import AbstractBaseUser, Group, User
from django.http import HttpRequest

PRIVILEGE_FIELDS = ("is_superuser", "is_staff", "groups", "user_permissions")


class AccountAdmin(UserAdmin):
    def get_readonly_fields(self, request: HttpRequest, obj: AbstractBaseUser | None = None) -> tuple[str, ...]:
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields if request.user.is_superuser else (*fields, *PRIVILEGE_FIELDS)

    def has_change_permission(self, request: HttpRequest, obj: AbstractBaseUser | None = None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: AbstractBaseUser | None = None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)


class SuperuserGroupAdmin(GroupAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Group | None = None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Group | None = None) -> bool:
        return request.user.is_superuser


admin.site.unregister(User)
admin.site.unregister(Group)
admin.site.register(User, AccountAdmin)
admin.site.register(Group, SuperuserGroupAdmin)
