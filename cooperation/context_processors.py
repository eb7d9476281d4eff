from functools import partial

from . import permissions


def roles(request):
    """What the templates may show: internal notes and costs only to viewers.

    `is_administrator` is a callable, so its one query runs only where a template uses it.
    """
    return {
        "can_view_internal": permissions.can_view_internal(request.user),
        "is_administrator": partial(permissions.is_administrator, request.user),
    }
