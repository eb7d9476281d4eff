"""The follow / unfollow button on partnership, municipality and pillar pages."""

from django import template

from .. import notifications
from .portal import target_name

register = template.Library()


@register.inclusion_tag("cooperation/_follow.html", takes_context=True)
def follow_button(context, target):
    """A POST form to follow or unfollow `target`; nothing for anonymous visitors.

    1 query for a signed-in user (their subscription to it), none otherwise.
    """
    request = context["request"]
    user = request.user
    kind = target._meta.model_name
    key = {"partnership": "slug", "municipality": "cbs_code", "pillar": "code"}[kind]
    return {
        "show": user.is_authenticated,
        "subscription": notifications.subscription_for(user, target) if user.is_authenticated else None,
        "kind": kind,
        "key": getattr(target, key),
        "name": target_name(target),
        "next": request.get_full_path(),
        "csrf_token": context.get("csrf_token"),
    }
