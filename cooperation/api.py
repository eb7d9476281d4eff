"""The read-only open-data API under /api/v1/ (Django REST framework, OpenAPI 3 by drf-spectacular).

Anonymous clients see public data only and are throttled; any signed-in active account
(session or HTTP Basic) also sees internal partnerships, events and notes, as decided by
`cooperation.permissions.can_view_internal`. Memberships and status in the responses are
derived by `cooperation.timeline` from the events the client may see; the filters use the
cached `Membership` rows and `Partnership.status`, exactly like the public list page.

Every list costs a fixed number of queries whatever the amount of data (pinned in
tests/test_api.py). Every 200 response carries an ETag (a hash of the body) and, where the
data has timestamps, a Last-Modified; a matching If-None-Match / If-Modified-Since gets 304.
Errors are RFC 7807 problem documents (application/problem+json).
"""

from __future__ import annotations

import hashlib
from http import HTTPStatus

import django_filters
from django.conf import settings
from django.db.models import F, Prefetch
from django.http import JsonResponse
from django.urls import reverse as django_reverse
from django.utils import timezone, translation
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.http import http_date, quote_etag
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import exception_handler

from . import agreements as register
from . import fragments, timeline
from .filters import AGREEMENT_STATES, AgreementFilterSet, EventFilterSet, PartnershipFilterSet
from .middleware import client_ip
from .models import Agreement, Document, Event, Municipality, Partnership, Pillar, Province, Source
from .permissions import can_view_internal

PROBLEM_CONTENT_TYPE = "application/problem+json"


# --- Errors: RFC 7807 problem details -------------------------------------------------------


def _problem(status: int, detail: str, instance: str, **extra) -> dict:
    return {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": instance,
        **extra,
    }


def _flatten(detail) -> str:
    if isinstance(detail, dict):
        return " ".join(f"{key}: {_flatten(value)}" for key, value in detail.items())
    if isinstance(detail, list):
        return " ".join(_flatten(item) for item in detail)
    return str(detail)


def problem_exception_handler(exc, context):
    """DRF's handler, with the body rewritten as a problem document."""
    response = exception_handler(exc, context)
    if response is None:
        return None
    request = context["request"]
    extra = {}
    if isinstance(exc, ValidationError) and isinstance(exc.detail, dict):
        extra["invalid-params"] = [{"name": name, "reason": _flatten(reason)} for name, reason in exc.detail.items()]
        detail = "The request has invalid parameters."
    else:
        detail = _flatten(exc.detail) if hasattr(exc, "detail") else str(exc)
    response.data = _problem(response.status_code, detail, request.get_full_path(), **extra)
    if not isinstance(getattr(request, "accepted_renderer", None), BrowsableAPIRenderer):
        response.content_type = PROBLEM_CONTENT_TYPE
    return response


def not_found(request, path: str = ""):
    """Unknown paths under /api/v1/ answer with a problem document, not the HTML 404 page."""
    body = _problem(404, "There is no such resource in this API.", request.get_full_path())
    return JsonResponse(body, status=404, content_type=PROBLEM_CONTENT_TYPE)


class ProblemSerializer(serializers.Serializer):
    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    instance = serializers.CharField()


def _responses(serializer) -> dict:
    problem = {(code, PROBLEM_CONTENT_TYPE): ProblemSerializer for code in (400, 401, 403, 404, 429)}
    return {200: serializer, **problem}


# --- Pagination, conditional requests -----------------------------------------------------


class Pagination(PageNumberPagination):
    """`?page=` and `?page_size=` (at most 200); links to the next and previous page in the body
    and in a Link header (RFC 8288)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        links = [
            f'<{url}>; rel="{rel}"'
            for rel, url in (("next", self.get_next_link()), ("prev", self.get_previous_link()))
            if url
        ]
        if links:
            response["Link"] = ", ".join(links)
        return response


class RegisterPagination(Pagination):
    """For partnerships and events: counts and page ids cached per state of the register
    (`fragments.RegisterPaginator`), which every change of them moves."""

    django_paginator_class = fragments.RegisterPaginator


class AnonymousThrottle(AnonRateThrottle):
    """Anonymous clients, per address, at settings.API_ANON_RATE (read per request).

    The address is the real client's behind PORTAL_TRUSTED_PROXY_COUNT proxies, found by the
    same function as the login lockout's, so an X-Forwarded-For of the client's choosing does
    not make a new client. Counted in the default cache: shared by every process only when
    CACHE_URL is Redis (production); the local-memory default counts per process."""

    def get_rate(self) -> str:
        return settings.API_ANON_RATE

    def get_ident(self, request) -> str:
        return client_ip(request) or ""


class ReadOnlyAPIView(generics.GenericAPIView):
    """Adds ETag and Last-Modified to every 200 response and answers conditional requests with 304.

    The ETag is a hash of the body, so it changes whenever anything the client sees changes
    (including deletions); Last-Modified is the latest change among the objects returned.
    """

    pagination_class = Pagination
    throttle_classes = [AnonymousThrottle]
    last_modified = None

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method not in ("GET", "HEAD") or response.status_code != 200:
            return response
        # Internal data depends on who asks.
        patch_vary_headers(response, ("Accept", "Cookie", "Authorization"))
        response.render()
        etag = quote_etag(hashlib.sha256(response.content).hexdigest()[:40])
        response["ETag"] = etag
        modified = int(self.last_modified.timestamp()) if self.last_modified else None
        if modified:
            response["Last-Modified"] = http_date(modified)
        return get_conditional_response(request._request, etag=etag, last_modified=modified, response=response)

    def note_modified(self, *moments) -> None:
        moments = [moment for moment in moments if moment]
        if moments:
            self.last_modified = max([self.last_modified, *moments] if self.last_modified else moments)


def _html_url(request, obj) -> str:
    # The Dutch page, whatever the request language, so that responses do not vary by language.
    with translation.override("nl"):
        return request.build_absolute_uri(obj.get_absolute_url())


# --- Serializers --------------------------------------------------------------------------


class MunicipalityRefSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="open-data:api-municipality-detail", lookup_field="cbs_code")

    class Meta:
        model = Municipality
        fields = ["cbs_code", "name", "url"]
        read_only_fields = fields


class MunicipalitySerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="open-data:api-municipality-detail", lookup_field="cbs_code")
    html_url = serializers.SerializerMethodField()
    tooi_uri = serializers.CharField(read_only=True)
    province = serializers.ChoiceField(choices=Province.choices, allow_blank=True, read_only=True)
    merged_into = serializers.SlugRelatedField(slug_field="cbs_code", read_only=True, allow_null=True)

    class Meta:
        model = Municipality
        fields = [
            "cbs_code",
            "name",
            "slug",
            "province",
            "existed_from",
            "existed_until",
            "merged_into",
            "tooi_uri",
            "url",
            "html_url",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_html_url(self, obj) -> str:
        return _html_url(self.context["request"], obj)


class PillarSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="open-data:api-pillar-detail", lookup_field="code")
    html_url = serializers.SerializerMethodField()

    class Meta:
        model = Pillar
        fields = ["code", "name_nl", "name_en", "description_nl", "description_en", "url", "html_url"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_html_url(self, obj) -> str:
        return _html_url(self.context["request"], obj)


class MembershipSerializer(serializers.Serializer):
    """A derived membership: who was in from when to when (EDTF text and bounds), and how it ended."""

    municipality = MunicipalityRefSerializer()
    role = serializers.ChoiceField(choices=Event.Role.choices)
    state = serializers.ChoiceField(choices=["planned", "active", "leaving", "ended"])
    start = serializers.CharField(help_text="EDTF; empty when unknown")
    start_lower = serializers.DateField(allow_null=True)
    start_upper = serializers.DateField(allow_null=True)
    end = serializers.CharField(help_text="EDTF; empty while the membership has not ended")
    end_lower = serializers.DateField(allow_null=True)
    end_upper = serializers.DateField(allow_null=True)
    ended_by = serializers.CharField()


class InternalFieldsMixin:
    """Drops the internal-only fields for clients that may not see internal data."""

    internal_fields: tuple[str, ...] = ("internal_note",)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not can_view_internal(self.context["request"].user):
            for name in self.internal_fields:
                data.pop(name, None)
        return data


class PartnershipSerializer(InternalFieldsMixin, serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="open-data:api-partnership-detail", lookup_field="slug")
    html_url = serializers.SerializerMethodField()
    pillars = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    status = serializers.SerializerMethodField()
    last_evidence = serializers.SerializerMethodField()
    memberships = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()
    # When the partnership last changed as this client sees it: an internal edit does not move it
    # for anonymous clients (`Partnership.changed_at`).
    updated_at = serializers.DateTimeField(source="changed_at", read_only=True)
    # Not read-only so that the schema marks it optional: it is left out for anonymous clients.
    internal_note = serializers.CharField(required=False, help_text="Only for signed-in clients.")

    class Meta:
        model = Partnership
        fields = [
            "slug",
            "name",
            "url",
            "html_url",
            "summary",
            "legal_form",
            "pillars",
            "visibility",
            "status",
            "memberships",
            "first_date",
            "last_date",
            "last_verified",
            "last_evidence",
            "updated_at",
            "links",
            "internal_note",
        ]
        read_only_fields = [name for name in fields if name != "internal_note"]

    @extend_schema_field(OpenApiTypes.URI)
    def get_html_url(self, obj) -> str:
        return _html_url(self.context["request"], obj)

    @extend_schema_field(serializers.ChoiceField(choices=Partnership.Status.choices))
    def get_status(self, obj) -> str:
        """As of the latest evidence: "unknown" when a current status rests on evidence older than
        the horizon (setting PORTAL_EVIDENCE_HORIZON_DAYS)."""
        return obj.derived_status

    @extend_schema_field(OpenApiTypes.DATE)
    def get_last_evidence(self, obj):
        return obj.derived_last_evidence

    @extend_schema_field(MembershipSerializer(many=True))
    def get_memberships(self, obj) -> list:
        return MembershipSerializer(obj.derived_memberships, many=True, context=self.context).data

    @extend_schema_field(
        inline_serializer(
            "PartnershipLinks",
            {
                "events": serializers.URLField(),
                "feed": serializers.URLField(),
                "calendar": serializers.URLField(),
            },
        )
    )
    def get_links(self, obj) -> dict:
        request = self.context["request"]
        return {
            "events": reverse("open-data:api-event-list", request=request) + f"?partnership={obj.slug}",
            "feed": reverse("open-data:feed-partnership", args=[obj.slug], request=request),
            "calendar": reverse("open-data:calendar-partnership", args=[obj.slug], request=request),
        }


class SourceSerializer(serializers.ModelSerializer):
    url = serializers.CharField(read_only=True, help_text="Empty when the source has no URL.")

    class Meta:
        model = Source
        fields = ["url", "title", "publisher", "author", "published_on", "retrieved_on", "kind"]
        read_only_fields = fields


@extend_schema_field(serializers.ChoiceField(choices=Pillar.Code.choices, allow_null=True))
class PillarCodeField(serializers.SlugRelatedField):
    """A pillar by its code, or null. Described as oneOf [PillarCodeEnum, NullEnum]: under OpenAPI
    3.0 `nullable` beside an `allOf` of an enum has no effect, so strict clients refused null."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="code", read_only=True, allow_null=True, **kwargs)


class EventSerializer(InternalFieldsMixin, serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="open-data:api-event-detail", lookup_field="uid")
    html_url = serializers.SerializerMethodField()
    partnership = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    date = serializers.CharField(source="date_text", read_only=True, help_text="EDTF; empty when unknown")
    municipalities = MunicipalityRefSerializer(many=True, read_only=True)
    pillar = PillarCodeField()
    decided_by = serializers.ChoiceField(choices=Event.DecidedBy.choices, allow_blank=True, read_only=True)
    sources = SourceSerializer(many=True, read_only=True)
    cost_eur = serializers.SerializerMethodField()
    cost_note = serializers.SerializerMethodField()
    internal_note = serializers.CharField(required=False, help_text="Only for signed-in clients.")

    class Meta:
        model = Event
        fields = [
            "uid",
            "url",
            "html_url",
            "partnership",
            "kind",
            "status",
            "date",
            "date_lower",
            "date_upper",
            "date_precision",
            "municipalities",
            "role",
            "title",
            "description",
            "pillar",
            "decided_by",
            "reason",
            "cost_eur",
            "cost_note",
            "cost_internal",
            "procurement_reference",
            "sources",
            "visibility",
            "created_at",
            "updated_at",
            "internal_note",
        ]
        read_only_fields = [name for name in fields if name != "internal_note"]

    @extend_schema_field(OpenApiTypes.URI)
    def get_html_url(self, obj) -> str:
        return _html_url(self.context["request"], obj)

    def _cost_visible(self, obj) -> bool:
        return not obj.cost_internal or can_view_internal(self.context["request"].user)

    @extend_schema_field(serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True))
    def get_cost_eur(self, obj):
        return f"{obj.cost_eur:.2f}" if obj.cost_eur is not None and self._cost_visible(obj) else None

    @extend_schema_field(OpenApiTypes.STR)
    def get_cost_note(self, obj) -> str:
        return obj.cost_note if self._cost_visible(obj) else ""


class DocumentSerializer(serializers.ModelSerializer):
    """A document's metadata; the file itself is at `download_url` (an attachment)."""

    date = serializers.CharField(source="date_text", read_only=True, help_text="EDTF; empty when unknown")
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = [
            "uid",
            "title",
            "kind",
            "date",
            "date_lower",
            "date_upper",
            "language",
            "visibility",
            "content_type",
            "size",
            "sha256",
            "download_url",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_download_url(self, obj) -> str:
        with translation.override("nl"):
            return self.context["request"].build_absolute_uri(
                django_reverse("cooperation:document-download", args=[obj.uid])
            )


class EventRefSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="open-data:api-event-detail", lookup_field="uid")
    date = serializers.CharField(source="date_text", read_only=True, help_text="EDTF; empty when unknown")

    class Meta:
        model = Event
        fields = ["uid", "url", "kind", "status", "date", "title"]
        read_only_fields = fields


class AgreementSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="open-data:api-agreement-detail", lookup_field="uid")
    html_url = serializers.SerializerMethodField()
    partnership = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    date = serializers.CharField(
        source="date_text", read_only=True, help_text="When it was signed (EDTF); empty when not recorded"
    )
    state = serializers.ChoiceField(
        choices=AGREEMENT_STATES,
        read_only=True,
        help_text="Today, as of the latest evidence (see docs/open-data.md): in force without a term end "
        "on evidence older than the horizon is “unknown”; “planned” is an intended agreement.",
    )
    last_evidence = serializers.DateField(
        source="evidence", read_only=True, allow_null=True, help_text="The partnership's newest evidence."
    )
    parties = MunicipalityRefSerializer(
        many=True, read_only=True, help_text="The members when it was signed (intended parties of a plan)."
    )
    events = EventRefSerializer(source="citing", many=True, read_only=True, help_text="The events citing it.")
    documents = DocumentSerializer(source="visible_documents", many=True, read_only=True)

    class Meta:
        model = Agreement
        fields = [
            "uid",
            "url",
            "html_url",
            "partnership",
            "kind",
            "title",
            "description",
            "date",
            "date_lower",
            "date_upper",
            "date_precision",
            "term_start",
            "term_end",
            "term_note",
            "visibility",
            "state",
            "last_evidence",
            "parties",
            "events",
            "documents",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_html_url(self, obj) -> str:
        return _html_url(self.context["request"], obj)


# --- Filters: the same as the public list page ---------------------------------------------


# The list page's filter set (cooperation/filters.py), without the page's sort; the events share
# the filters that mean the same.
PartnershipFilter = PartnershipFilterSet.only(
    "q", "municipality", "province", "pillar", "legal_form", "status", "year", "changed_since"
)
EventFilter = EventFilterSet
# The agreements register's filter set, as on /agreements/ (sort included: by term end unless told).
AgreementFilter = AgreementFilterSet


class MunicipalityFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", help_text="Part of the name.")
    province = django_filters.ChoiceFilter(choices=Province.choices)
    current = django_filters.BooleanFilter(
        field_name="existed_until", lookup_expr="isnull", help_text="true: only municipalities that exist today."
    )

    class Meta:
        model = Municipality
        fields = ["name", "province", "current"]


# --- Views --------------------------------------------------------------------------------


def _derive(partnership) -> None:
    """Memberships and status from the events this client may see (prefetched as `visible_events`)."""
    facts = [timeline.facts_from_event(event) for event in partnership.visible_events]
    memberships = timeline.derive_memberships(facts)
    by_pk = {m.pk: m for event in partnership.visible_events for m in event.municipalities.all()}
    # A "now" status rests on the latest evidence; older than the horizon, it is "unknown".
    evidence = max(filter(None, [timeline.last_evidence(facts), partnership.last_evidence]), default=None)
    partnership.derived_status = timeline.current_status(
        timeline.derive_status(facts, memberships), evidence, timezone.localdate()
    )
    partnership.derived_last_evidence = evidence
    partnership.derived_memberships = [
        {
            "municipality": by_pk[m.municipality.pk],
            "role": m.role,
            "state": m.state,
            "start": m.start.text,
            "start_lower": m.start.lower,
            "start_upper": m.start.upper,
            "end": m.end.text if m.end else "",
            "end_lower": m.end.lower if m.end else None,
            "end_upper": m.end.upper if m.end else None,
            "ended_by": m.ended_by,
        }
        for m in memberships
    ]


class PartnershipViews(ReadOnlyAPIView):
    pagination_class = RegisterPagination
    serializer_class = PartnershipSerializer
    filterset_class = PartnershipFilter
    lookup_field = "slug"

    def get_queryset(self):
        """4 queries for a page: partnerships, pillars, visible events, their municipalities."""
        internal = can_view_internal(self.request.user)
        events = Event.objects.for_audience(internal).prefetch_related(
            Prefetch("municipalities", queryset=Municipality.objects.select_related("merged_into"))
        )
        return (
            Partnership.objects.for_audience(internal)
            .prefetch_related("pillars", Prefetch("events", queryset=events, to_attr="visible_events"))
            .order_by("name", "pk")
        )

    def prepare(self, partnerships) -> None:
        for partnership in partnerships:
            _derive(partnership)
            self.note_modified(partnership.changed_at, *(event.updated_at for event in partnership.visible_events))


class PartnershipList(PartnershipViews, generics.ListAPIView):
    """Partnerships, by name. Filters as on the public list page; 5 queries per page."""

    @extend_schema(operation_id="partnerships_list", responses=_responses(PartnershipSerializer(many=True)))
    def get(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        self.prepare(page)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class PartnershipDetail(PartnershipViews, generics.RetrieveAPIView):
    """One partnership by slug."""

    filterset_class = None

    @extend_schema(operation_id="partnerships_retrieve", responses=_responses(PartnershipSerializer))
    def get(self, request, *args, **kwargs):
        partnership = self.get_object()
        self.prepare([partnership])
        return Response(self.get_serializer(partnership).data)


class EventViews(ReadOnlyAPIView):
    pagination_class = RegisterPagination
    serializer_class = EventSerializer
    filterset_class = EventFilter
    lookup_field = "uid"

    def get_queryset(self):
        """3 queries for a page: events with partnership and pillar, municipalities, sources."""
        return (
            Event.objects.for_audience(can_view_internal(self.request.user))
            .select_related("partnership", "pillar")
            .prefetch_related("municipalities", "sources")
            .order_by(F("date_lower").asc(nulls_last=True), F("date_upper").asc(nulls_last=True), "pk")
        )


class EventList(EventViews, generics.ListAPIView):
    """Events, oldest first (undated last). 4 queries per page."""

    @extend_schema(operation_id="events_list", responses=_responses(EventSerializer(many=True)))
    def get(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        self.note_modified(*(event.updated_at for event in page))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class EventDetail(EventViews, generics.RetrieveAPIView):
    """One event by its public uid."""

    filterset_class = None

    @extend_schema(operation_id="events_retrieve", responses=_responses(EventSerializer))
    def get(self, request, *args, **kwargs):
        event = self.get_object()
        self.note_modified(event.updated_at)
        return Response(self.get_serializer(event).data)


class MunicipalityViews(ReadOnlyAPIView):
    serializer_class = MunicipalitySerializer
    filterset_class = MunicipalityFilter
    lookup_field = "cbs_code"
    queryset = Municipality.objects.select_related("merged_into").order_by("name", "cbs_code")

    def get_object(self):
        self.kwargs["cbs_code"] = self.kwargs["cbs_code"].upper()
        return super().get_object()


class MunicipalityList(MunicipalityViews, generics.ListAPIView):
    """All municipalities, current and former (1,472), by name. 2 queries per page."""

    @extend_schema(operation_id="municipalities_list", responses=_responses(MunicipalitySerializer(many=True)))
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class MunicipalityDetail(MunicipalityViews, generics.RetrieveAPIView):
    """One municipality by CBS code (e.g. GM0606)."""

    filterset_class = None

    @extend_schema(operation_id="municipalities_retrieve", responses=_responses(MunicipalitySerializer))
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class PillarViews(ReadOnlyAPIView):
    serializer_class = PillarSerializer
    lookup_field = "code"
    queryset = Pillar.objects.order_by("position", "code")


class PillarList(PillarViews, generics.ListAPIView):
    """The four pillars of cooperation. 2 queries."""

    @extend_schema(operation_id="pillars_list", responses=_responses(PillarSerializer(many=True)))
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class PillarDetail(PillarViews, generics.RetrieveAPIView):
    """One pillar by code."""

    @extend_schema(operation_id="pillars_retrieve", responses=_responses(PillarSerializer))
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class AgreementViews(ReadOnlyAPIView):
    serializer_class = AgreementSerializer
    filterset_class = AgreementFilter
    lookup_field = "uid"

    def get_queryset(self):
        """Agreements with partnership and state, and the documents this client may see."""
        internal = can_view_internal(self.request.user)
        documents = Document.objects.for_audience(internal)
        return (
            Agreement.objects.for_audience(internal)
            .for_list()
            .with_state(timezone.localdate())
            .select_related("partnership")
            .prefetch_related(Prefetch("documents", queryset=documents, to_attr="visible_documents"))
            .order_by(F("term_end").asc(nulls_last=True), "title", "pk")
        )

    def prepare(self, agreements) -> list:
        """Parties and the events citing them, from what this client may see (3 queries)."""
        return register.describe(agreements, internal=can_view_internal(self.request.user), today=timezone.localdate())


class AgreementList(AgreementViews, generics.ListAPIView):
    """Agreements, by term end (soonest first) unless `sort` says otherwise. Filters as on the
    /agreements/ page; 6 queries per page."""

    @extend_schema(operation_id="agreements_list", responses=_responses(AgreementSerializer(many=True)))
    def get(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.prepare(self.paginate_queryset(queryset))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class AgreementDetail(AgreementViews, generics.RetrieveAPIView):
    """One agreement by its public uid."""

    filterset_class = None

    @extend_schema(operation_id="agreements_retrieve", responses=_responses(AgreementSerializer))
    def get(self, request, *args, **kwargs):
        agreement = self.get_object()
        self.prepare([agreement])
        return Response(self.get_serializer(agreement).data)
