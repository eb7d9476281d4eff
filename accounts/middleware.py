"""A local account passes its second factor before it reaches anything else.

With `PORTAL_REQUIRE_2FA` on (the default in production), a session signed in with a user name
and password but not yet verified by django-otp is sent to the second-factor step for every URL,
the admin included; only the steps themselves, signing out, language switching and static files
are open to it. Sessions from the organisation's identity provider are exempt: the provider
decides how its users authenticate. HTTP Basic authentication (a password alone) is refused.
"""

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import Resolver404, resolve, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from .oidc import end_session_origin

OIDC_BACKEND = "accounts.oidc.OIDCBackend"
OPEN_URL_NAMES = (
    "second-factor",
    "second-factor-setup",
    "second-factor-recovery-codes",
    "logout",
    "admin-logout",
    "set_language",
)


def needs_second_factor(request) -> bool:
    user = getattr(request, "user", None)
    if not settings.PORTAL_REQUIRE_2FA or user is None or not user.is_authenticated:
        return False
    if request.session.get(BACKEND_SESSION_KEY) == OIDC_BACKEND:
        return False
    return not user.is_verified()


class SecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.PORTAL_REQUIRE_2FA and request.headers.get("Authorization", "").lower().startswith("basic "):
            return HttpResponse(
                _("Signing in with a password alone is not possible here; sign in on the website."),
                status=401,
                content_type="text/plain; charset=utf-8",
            )
        if needs_second_factor(request) and not self._open(request):
            url = reverse("second-factor")
            if request.method == "GET":
                url += "?" + urlencode({"next": request.get_full_path()})
            return HttpResponseRedirect(url)
        return self.get_response(request)

    @staticmethod
    def _open(request) -> bool:
        if request.path.startswith("/" + settings.STATIC_URL.lstrip("/")):
            return True
        try:
            return resolve(request.path_info).url_name in OPEN_URL_NAMES
        except Resolver404:
            return False


class ProviderSignOutCSPMiddleware:
    """Lets the sign-out form of a session from the identity provider continue to the provider.

    The sign-out button is a form posting to the portal, which redirects to the provider's
    end_session_endpoint; browsers hold such a redirect to the page's CSP `form-action`, so
    pages shown to these sessions allow that one origin too. Sits after django-csp's middleware.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.session.get(BACKEND_SESSION_KEY) == OIDC_BACKEND and request.session.get("oidc_id_token"):
            origin = end_session_origin()
            if origin:
                update = dict(getattr(response, "_csp_update", None) or {})
                update["form-action"] = [*update.get("form-action", []), origin]
                response._csp_update = update
        return response
