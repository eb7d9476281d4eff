from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from accounts import oidc as accounts_oidc
from accounts import views as accounts_views
from cooperation import admin_dates
from cooperation import views as cooperation_views

# Open data (API, feeds, calendars, downloads) has no language prefix.
urlpatterns = [
    path("", include("cooperation.api_urls")),
    path("favicon.ico", cooperation_views.favicon, name="favicon"),
]
# The redirect URI registered at the identity provider: one address whatever the language.
urlpatterns += [
    path("accounts/organisation/callback/", accounts_oidc.OIDCCallbackView.as_view(), name="oidc-callback"),
]

urlpatterns += i18n_patterns(
    path("admin/audit/", cooperation_views.audit, name="audit"),
    path("admin/date-reading/", admin_dates.date_reading, name="admin-date-reading"),
    path("admin/login/", accounts_views.admin_login, name="admin-login"),
    path("admin/logout/", accounts_oidc.logout, name="admin-logout"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("", include("cooperation.urls")),
    prefix_default_language=False,
)
