"""Third-party apps under Dutch names in the admin (their app configs name them in English or not at all).

Only the app's name changes; labels, models and migrations stay the library's own.
"""

from axes.apps import AppConfig as AxesAppConfig
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.apps import DefaultConfig as StaticConfig
from django_otp.plugins.otp_totp.apps import DefaultConfig as TotpConfig


class PortalAxesConfig(AxesAppConfig):
    verbose_name = _("Sign-in attempts")


class PortalTotpConfig(TotpConfig):
    verbose_name = _("Two-step sign-in: authenticator apps")


class PortalStaticConfig(StaticConfig):
    verbose_name = _("Two-step sign-in: backup codes")
