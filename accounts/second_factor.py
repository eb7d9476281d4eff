"""The second factor for local accounts: a guided TOTP enrolment, recovery codes, the check.

Devices are django-otp's (`TOTPDevice`, and a `StaticDevice` holding ten one-time recovery
codes). Every wrong code counts as a failed sign-in for django-axes under the account's user
name, so the lockout after `AXES_FAILURE_LIMIT` failures covers password and code together.
"""

from __future__ import annotations

import base64

import qrcode
import qrcode.image.svg
from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.conf import settings
from django.contrib import auth
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext_lazy as _
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

RECOVERY_CODE_COUNT = 10
SESSION_RECOVERY_CODES = "second_factor_recovery_codes"


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code"),
        max_length=16,
        error_messages={"required": _("Enter the code.")},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"}),
    )

    def clean_token(self) -> str:
        return "".join(self.cleaned_data["token"].split()).lower()


def _next_url(request) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _credentials(user) -> dict:
    return {"username": user.get_username()}


def _locked_out(request):
    auth.logout(request)
    return render(request, "registration/locked_out.html", status=403)


@login_required
def verify(request):
    """Ask for the code of the user's authenticator app (or a recovery code)."""
    user = request.user
    if user.is_verified():
        return redirect(_next_url(request))
    if not user_has_device(user, confirmed=True):
        return redirect(reverse("second-factor-setup") + "?" + urlencode({"next": _next_url(request)}))
    if not AxesProxyHandler.is_allowed(request, _credentials(user)):
        return _locked_out(request)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(user, form.cleaned_data["token"])
        if device is not None:
            otp_login(request, device)
            return redirect(_next_url(request))
        user_login_failed.send(sender=__name__, credentials=_credentials(user), request=request)
        if getattr(request, "axes_locked_out", False):
            return _locked_out(request)
        form.add_error("token", forms.ValidationError(_("This code is not correct. Try again."), code="wrong_code"))
    return render(request, "registration/second_factor.html", {"form": form, "next": _next_url(request)})


def qr_code_data_uri(text: str) -> str:
    """An SVG QR code as a data: URI (the Content-Security-Policy allows data: images only)."""
    svg = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2).to_string()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode()


def _grouped(key_b32: str) -> str:
    return " ".join(key_b32[i : i + 4] for i in range(0, len(key_b32), 4))


@login_required
def setup(request):
    """Guided enrolment: install an app, scan the code (or type the key), confirm with a code.

    An account that already has an app must pass it first: a password alone never replaces it.
    """
    user = request.user
    if user_has_device(user, confirmed=True) and not user.is_verified():
        return redirect("second-factor")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            codes = _confirm(user, device)
            otp_login(request, device)
            request.session[SESSION_RECOVERY_CODES] = codes
            return redirect(reverse("second-factor-recovery-codes") + "?" + urlencode({"next": _next_url(request)}))
        form.add_error(
            "token",
            forms.ValidationError(
                _("This code is not correct. Check that the time on your phone is right and try the newest code."),
                code="wrong_code",
            ),
        )
    key = base64.b32encode(device.bin_key).decode().rstrip("=")
    context = {
        "form": form,
        "next": _next_url(request),
        "qr_code": qr_code_data_uri(device.config_url),
        "key": _grouped(key),
        "replacing": user_has_device(user, confirmed=True),
        "required": settings.PORTAL_REQUIRE_2FA,
    }
    return render(request, "registration/second_factor_setup.html", context)


@transaction.atomic
def _confirm(user, device: TOTPDevice) -> list[str]:
    """Confirm the new app (replacing any earlier one) and issue fresh recovery codes."""
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    StaticDevice.objects.filter(user=user).delete()
    static = StaticDevice.objects.create(user=user, name="recovery codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=static, token=code) for code in codes)
    return codes


@login_required
def recovery_codes(request):
    """Shows the new recovery codes once, right after enrolment."""
    codes = request.session.pop(SESSION_RECOVERY_CODES, None)
    if not codes:
        return redirect(_next_url(request))
    return render(
        request, "registration/second_factor_recovery_codes.html", {"codes": codes, "next": _next_url(request)}
    )
