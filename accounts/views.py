"""The one sign-in page: the organisation's identity provider first, a local account second."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpResponseRedirect
from django.shortcuts import render
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
    """The admin's sign-in is the portal's: one page, one lockout, one second factor.

    A signed-in account that may not use the admin (a viewer) gets a clear refusal: sending it to
    the sign-in page would send it straight back here, round and round.
    """
    if request.user.is_authenticated and not admin.site.has_permission(request):
        return render(request, "registration/no_admin_access.html", status=403)
    query = urlencode({"next": request.GET.get("next") or reverse("admin:index")})
    return HttpResponseRedirect(f"{reverse('login')}?{query}")
