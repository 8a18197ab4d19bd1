"""Staff-only pages: one decorator for the dashboard and the study pages."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse


def staff_only(view: Callable) -> Callable:
    """Anonymous users go to the login page; logged-in non-staff users get 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_staff:
            raise PermissionDenied("The dashboard is for staff.")
        return view(request, *args, **kwargs)

    return wrapped
