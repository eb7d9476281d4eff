"""Atom feeds of new and changed events: the whole portal, per partnership, municipality and pillar.

Built on Django's syndication framework. The newest changes come first (by `Event.updated_at`),
so an edited event shows up again with its new text. A feed shows what the requester may see:
feed readers are anonymous, so in practice the public events. Dutch by default, English with ?lang=en.
Each feed costs 3 queries (its subject, the events with their partnerships, their municipalities).

RFC 4287: the portal (as an organisation) is the author of every feed and entry; summaries are
HTML built from escaped text (markup in a description is shown as text, line breaks are kept);
feed ids are built on settings.PORTAL_BASE_URL, entry ids are the events' `urn:uuid`, so neither
depends on the host a request came in on.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import linebreaksbr
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _

from . import timeline
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

    def feed_guid(self, subject: Subject) -> str:
        # The same feed has the same id whatever host it was fetched through; English is another feed.
        language = translation.get_language()
        suffix = "" if language == settings.LANGUAGE_CODE else f"?lang={language}"
        return f"{settings.PORTAL_BASE_URL}{subject.feed_url}{suffix}"

    def author_name(self) -> str:
        return _("ICT cooperation portal")

    def author_link(self) -> str:
        return f"{settings.PORTAL_BASE_URL}/"

    def item_author_name(self) -> str:
        return _("ICT cooperation portal")

    def item_author_link(self) -> str:
        return f"{settings.PORTAL_BASE_URL}/"

    def items(self, subject: Subject):
        return subject.events

    def item_title(self, event: Event) -> str:
        """Partnership, heading and date; a plan or abandoned plan says so in words (issue 15)."""
        heading = event.title or event.get_kind_display()
        today = timezone.localdate()
        status = timeline.event_status_words(event.status, event.fuzzy_date, today)
        overdue = event.status == Event.Status.PLANNED and event.date_upper and event.date_upper < today
        # An overdue plan's words already hold its date ("planned for December 2021, not confirmed").
        when = status if overdue else f"{event.date_in_words}; {status}" if status else event.date_in_words
        return f"{event.partnership.name}: {heading} ({when})"

    def item_description(self, event: Event) -> str:
        names = ", ".join(m.name for m in event.municipalities.all())
        lines = [
            f"{event.get_kind_display()} · {event.get_status_display()} · {event.date_in_words}",
            names,
            event.description,
        ]
        # Atom1Feed writes the summary as type="html": escape the text, keep its line breaks.
        return linebreaksbr("\n".join(line for line in lines if line), autoescape=True)

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
