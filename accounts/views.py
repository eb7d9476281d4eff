"""The one sign-in page: the organisation's identity provider first, a local account second."""

from django.contrib.auth import views as auth_views
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode

from .oidc import oidc_enabled


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["oidc_enabled"] = oidc_enabled()
        context["oidc_url"] = reverse("oidc-start") + (
            "?" + urlencode({"next": context["next"]}) if context.get("next") else ""
        )
        return context


def admin_login(request):
    """The admin's sign-in is the portal's: one page, one lockout, one second factor."""
    query = urlencode({"next": request.GET.get("next") or reverse("admin:index")})
    return HttpResponseRedirect(f"{reverse('login')}?{query}")
