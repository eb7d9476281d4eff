from django.urls import path

from . import oidc, second_factor, views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", oidc.logout, name="logout"),
    path("organisation/", oidc.OIDCStartView.as_view(), name="oidc-start"),
    path("second-factor/", second_factor.verify, name="second-factor"),
    path("second-factor/setup/", second_factor.setup, name="second-factor-setup"),
    path("second-factor/recovery-codes/", second_factor.recovery_codes, name="second-factor-recovery-codes"),
]
