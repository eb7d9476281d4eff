"""Request hygiene before any view runs: who the client is, what an address may contain, how
long a staff session lasts.

- `client_ip(request)`: the real client address behind `PORTAL_TRUSTED_PROXY_COUNT` proxies;
  django-axes (lockout) and the API throttle both identify clients with it.
- `RejectInvalidCharactersMiddleware`: a control character in the path or a NUL byte in a
  query parameter is a 400 with a Dutch message, for every view at once (PostgreSQL refuses NUL in a string,
  which would otherwise surface as a 500 wherever a parameter reaches a query).
- `StaffSessionTimeoutMiddleware`: signed-in staff are signed out after
  `STAFF_SESSION_IDLE_SECONDS` without a request, and `STAFF_SESSION_MAX_SECONDS` after they
  signed in, whatever they do.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext as _

logger = logging.getLogger("django.security.invalid_characters")

# C0 control characters and DEL. None belongs in a URL path; in a query parameter only NUL is
# refused, since it cannot be stored or searched for, while a tab or newline is merely odd.
_PATH_INVALID = re.compile(r"[\x00-\x1f\x7f]")
_PARAMETER_INVALID = "\x00"

SESSION_SIGNED_IN_AT = "portal_signed_in_at"
SESSION_LAST_SEEN_AT = "portal_last_seen_at"
# The last-seen time is written at most this often, so reading pages does not write the session
# on every request; the idle limit is therefore exact to within this many seconds.
LAST_SEEN_RESOLUTION = 60


def client_ip(request) -> str | None:
    """The address of the client that made the request.

    With `PORTAL_TRUSTED_PROXY_COUNT = 0` that is the peer (REMOTE_ADDR) and X-Forwarded-For is
    ignored, since anyone can send it. With N trusted proxies in front, each appends the address
    it received the request from, so the client is the N-th entry from the right; what the client
    put to the left of that is ignored. A header with fewer entries than proxies (a request that
    did not pass them all) gives the left-most entry; anything that is not an IP address, the peer.
    """
    remote = request.META.get("REMOTE_ADDR")
    count = settings.PORTAL_TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if count <= 0 or not forwarded.strip():
        return remote
    entries = [entry.strip() for entry in forwarded.split(",") if entry.strip()]
    if not entries:
        return remote
    candidate = entries[-count] if len(entries) >= count else entries[0]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


class RejectInvalidCharactersMiddleware:
    """Before the locale and the user are known: the answer is in the default language (Dutch), a
    problem document under /api/ like every API error, a short page elsewhere."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        invalid = bool(_PATH_INVALID.search(request.path)) or any(
            _PARAMETER_INVALID in key or any(_PARAMETER_INVALID in value for value in values)
            for key, values in request.GET.lists()
        )
        if invalid:
            logger.warning("Bad request (invalid character in the address): %r", request.get_full_path()[:200])
            return bad_request(request)
        return self.get_response(request)


def bad_request(request) -> HttpResponse:
    detail = _("The address contains a character that is not allowed (such as a NUL byte). Check the link.")
    if request.path.startswith("/api/"):
        problem = {"type": "about:blank", "title": "Bad Request", "status": 400, "detail": detail}
        return JsonResponse({**problem, "instance": request.path}, status=400, content_type="application/problem+json")
    title = _("Invalid address")
    return HttpResponseBadRequest(
        format_html(
            '<!doctype html><html lang="{}"><head><meta charset="utf-8"><title>{}</title></head>'
            '<body><h1>{}</h1><p>{}</p><p><a href="/">{}</a></p></body></html>',
            get_language() or "nl",
            title,
            title,
            detail,
            _("Go to the home page"),
        )
    )


class StaffSessionTimeoutMiddleware:
    """After AuthenticationMiddleware and MessageMiddleware. Only staff sessions (those that reach
    the admin) are limited; a viewer's session keeps SESSION_COOKIE_AGE."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_staff:
            now = int(time.time())
            session = request.session
            signed_in_at = session.setdefault(SESSION_SIGNED_IN_AT, now)
            last_seen_at = session.get(SESSION_LAST_SEEN_AT, now)
            idle = now - last_seen_at > settings.STAFF_SESSION_IDLE_SECONDS
            expired = now - signed_in_at > settings.STAFF_SESSION_MAX_SECONDS
            if idle or expired:
                logout(request)
                if idle:
                    minutes = settings.STAFF_SESSION_IDLE_SECONDS // 60
                    text = _("You were signed out after %(minutes)s minutes without activity.") % {"minutes": minutes}
                else:
                    hours = settings.STAFF_SESSION_MAX_SECONDS // 3600
                    text = _("You were signed out: a session lasts at most %(hours)s hours.") % {"hours": hours}
                messages.info(request, text)
            elif now - last_seen_at >= LAST_SEEN_RESOLUTION or SESSION_LAST_SEEN_AT not in session:
                session[SESSION_LAST_SEEN_AT] = now
        return self.get_response(request)
