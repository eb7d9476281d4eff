"""django-otp's TOTP devices in the admin, without the page that shows a device's secret.

Administrators delete a lost phone's device here (the next sign-in starts the enrolment again).
The library's `config` and `qrcode` pages show the device's key and QR code to anyone with view permission
and answers a server error for an unknown id; enrolment happens on our own guided page
(`accounts.second_factor`), so that page is left out.
"""

from django.contrib import admin
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

admin.site.unregister(TOTPDevice)


@admin.register(TOTPDevice)
class StaffTOTPDeviceAdmin(TOTPDeviceAdmin):
    def get_urls(self):
        return [
            url
            for url in super().get_urls()
            if getattr(url, "name", "") not in {"otp_totp_totpdevice_config", "otp_totp_totpdevice_qrcode"}
        ]
