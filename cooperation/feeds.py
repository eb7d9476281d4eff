"""Atom feeds of new and changed events: the whole portal, per partnership, municipality and pillar.

Built on Django's syndication framework. The newest changes come first (by `Event.updated_at`),
so an edited event shows up again with its new text. A feed shows what the requester may see:
feed readers are anonymous, so in practice the public events. Dutch by default, English with ?lang=en.
Each feed costs 3 queries (its subject, the events with their partnerships, their municipalities).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import translation
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _

from .models import Event, Municipality, Partnership, Pillar
from .permissions import can_view_internal

FEED_SIZE = 50


@dataclass
class Subject:
    """What a feed is about, and who asks (a Feed instance is shared between requests)."""

    title: str
    link: str
    description: str
    events: QuerySet
    feed_url: str


class EventFeed(Feed):
    feed_type = Atom1Feed

    # Subclasses define subject(request, **kwargs) -> Subject.

    def __call__(self, request, *args, **kwargs):
        # Unprefixed URLs are Dutch; ?lang=en gives English titles and links to the English pages.
        language = request.GET.get("lang")
        if language not in dict(settings.LANGUAGES):
            language = translation.get_language()
        with translation.override(language):
            return super().__call__(request, *args, **kwargs)

    def get_object(self, request, **kwargs) -> Subject:
        subject = self.subject(request, **kwargs)
        subject.events = (
            subject.events.select_related("partnership")
            .prefetch_related("municipalities")
            .order_by("-updated_at", "-pk")[:FEED_SIZE]
        )
        return subject

    def title(self, subject: Subject) -> str:
        return subject.title

    def link(self, subject: Subject) -> str:
        return subject.link

    def subtitle(self, subject: Subject) -> str:
        return subject.description

    def feed_url(self, subject: Subject) -> str:
        return subject.feed_url

    def items(self, subject: Subject):
        return subject.events

    def item_title(self, event: Event) -> str:
        heading = event.title or event.get_kind_display()
        return f"{event.partnership.name}: {heading} ({event.date_in_words})"

    def item_description(self, event: Event) -> str:
        names = ", ".join(m.name for m in event.municipalities.all())
        lines = [
            f"{event.get_kind_display()} · {event.get_status_display()} · {event.date_in_words}",
            names,
            event.description,
        ]
        return "\n".join(line for line in lines if line)

    def item_link(self, event: Event) -> str:
        return event.get_absolute_url()

    def item_guid(self, event: Event) -> str:
        return f"urn:uuid:{event.uid}"

    item_guid_is_permalink = False

    def item_pubdate(self, event: Event):
        return event.created_at

    def item_updateddate(self, event: Event):
        return event.updated_at

    def item_categories(self, event: Event):
        return [event.kind, event.status]


class PortalFeed(EventFeed):
    def subject(self, request, **kwargs) -> Subject:
        return Subject(
            title=_("ICT cooperation portal: new and changed events"),
            link=reverse("cooperation:home"),
            description=_("Events in the partnerships of Dutch municipalities on ICT."),
            events=Event.objects.for_audience(can_view_internal(request.user)),
            feed_url=reverse("open-data:feed-events"),
        )


class PartnershipFeed(EventFeed):
    def subject(self, request, slug: str) -> Subject:
        partnership = get_object_or_404(Partnership.objects.for_audience(can_view_internal(request.user)), slug=slug)
        return Subject(
            title=_("%(name)s: new and changed events") % {"name": partnership.name},
            link=partnership.get_absolute_url(),
            description=partnership.summary,
            events=Event.objects.for_audience(can_view_internal(request.user)).filter(partnership=partnership),
            feed_url=reverse("open-data:feed-partnership", args=[slug]),
        )


class MunicipalityFeed(EventFeed):
    def subject(self, request, cbs_code: str) -> Subject:
        municipality = get_object_or_404(Municipality, cbs_code=cbs_code.upper())
        return Subject(
            title=_("Municipality of %(name)s: new and changed events") % {"name": municipality.name},
            link=municipality.get_absolute_url(),
            description=_("Events in the ICT partnerships of %(name)s.") % {"name": municipality.name},
            events=Event.objects.for_audience(can_view_internal(request.user)).filter(municipalities=municipality),
            feed_url=reverse("open-data:feed-municipality", args=[municipality.cbs_code]),
        )


class PillarFeed(EventFeed):
    def subject(self, request, code: str) -> Subject:
        pillar = get_object_or_404(Pillar, code=code)
        return Subject(
            title=_("%(name)s: new and changed events") % {"name": pillar.name},
            link=pillar.get_absolute_url(),
            description=pillar.description,
            events=Event.objects.for_audience(can_view_internal(request.user))
            .filter(Q(pillar=pillar) | Q(partnership__pillars=pillar))
            .distinct(),
            feed_url=reverse("open-data:feed-pillar", args=[code]),
        )
