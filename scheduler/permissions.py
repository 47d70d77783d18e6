from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied


def account_admin_required(view):
    """Signed-in account admins only; members get 403, anonymous users the login page."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_account_admin:
            raise PermissionDenied("Only account admins can manage this.")
        return view(request, *args, **kwargs)

    return wrapper
