from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from cooperation import views as cooperation_views

# Open data (API, feeds, calendars, downloads) has no language prefix.
urlpatterns = [path("", include("cooperation.api_urls"))]

urlpatterns += i18n_patterns(
    path("admin/audit/", cooperation_views.audit, name="audit"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("cooperation.urls")),
    prefix_default_language=False,
)
