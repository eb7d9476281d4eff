"""Following partnerships, municipalities and pillars; unsubscribing from an e-mail link.

The "my subscriptions" page and the follow/unfollow buttons need an account; the
unsubscribe link in every e-mail works without one (a signed token, see notifications).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import notifications
from .models import EditorProfile, Subscription
from .permissions import can_view_internal


def _next_url(request, fallback: str) -> str:
    candidate = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return fallback


@login_required
def subscription_list(request):
    """2 queries (+ session, user): the subscriptions with what they follow, the editor profile."""
    context = {
        "subscriptions": Subscription.objects.filter(user=request.user).for_page(),
        "editor_profile": EditorProfile.objects.filter(user=request.user).first(),
    }
    return render(request, "cooperation/subscriptions.html", context)


@login_required
@require_POST
def follow(request):
    target = notifications.subscription_target(kind=request.POST.get("kind", ""), key=request.POST.get("key", ""))
    if target is None or not _may_see(request.user, target):
        raise Http404
    notifications.subscription_create(user=request.user, target=target)
    messages.success(request, _("You now follow %(name)s.") % {"name": target})
    return redirect(_next_url(request, target.get_absolute_url()))


def _may_see(user, target) -> bool:
    from .models import Partnership

    return (
        not isinstance(target, Partnership)
        or Partnership.objects.for_audience(can_view_internal(user)).filter(pk=target.pk).exists()
    )


@login_required
@require_POST
def unfollow(request, pk: int):
    subscription = get_object_or_404(
        Subscription.objects.select_related("partnership", "municipality", "pillar"), pk=pk, user=request.user
    )
    name = str(subscription.target)
    subscription.delete()
    messages.success(request, _("You no longer follow %(name)s.") % {"name": name})
    return redirect(_next_url(request, reverse("cooperation:subscriptions")))


def unsubscribe(request, token: str):
    """GET asks for confirmation (mail scanners follow links); POST stops what the token names."""
    try:
        payload = notifications.read_unsubscribe_token(token)
    except signing.SignatureExpired:
        return render(request, "cooperation/unsubscribe.html", {"problem": "expired"}, status=400)
    except signing.BadSignature:
        return render(request, "cooperation/unsubscribe.html", {"problem": "invalid"}, status=400)
    subscriptions = Subscription.objects.filter(user_id=payload["u"], pk__in=payload.get("s", [])).for_page()
    if request.method == "POST":
        stopped = notifications.unsubscribe(payload=payload)
        return render(request, "cooperation/unsubscribe.html", {"done": True, "stopped": stopped})
    context = {"subscriptions": subscriptions, "reminders": bool(payload.get("r")), "token": token}
    return render(request, "cooperation/unsubscribe.html", context)
