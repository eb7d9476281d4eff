"""The domain model: municipalities cooperating on ICT in partnerships.

Events are the single source of truth. Memberships and a partnership's status
are derived from them by `cooperation.timeline`; the `Membership` rows and the derived fields
of `Partnership` are a cache, one copy per audience, that only `derived.rebuild()` writes.
Readers choose their audience with `for_audience(internal)` (see docs/architecture.md).
"""

from __future__ import annotations

import datetime
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Case, Exists, F, OuterRef, Prefetch, Q, Value, When, prefetch_related_objects
from django.db.models.query import ModelIterable
from django.urls import reverse
from django.utils.text import get_valid_filename
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from . import dates, search, timeline

CBS_CODE_PATTERN = r"^GM[0-9]{4}$"


class Visibility(models.TextChoices):
    PUBLIC = "public", _("public")
    INTERNAL = "internal", _("internal")


class Audience(models.TextChoices):
    """Who a derived copy is for: the public (public events of public partnerships only) or staff
    (any signed-in account: every event)."""

    PUBLIC = "public", _("public")
    STAFF = "staff", _("staff")


def audience_of(internal: bool) -> str:
    return Audience.STAFF if internal else Audience.PUBLIC


class Province(models.TextChoices):
    DRENTHE = "Drenthe", "Drenthe"
    FLEVOLAND = "Flevoland", "Flevoland"
    FRYSLAN = "Fryslân", "Fryslân"
    GELDERLAND = "Gelderland", "Gelderland"
    GRONINGEN = "Groningen", "Groningen"
    LIMBURG = "Limburg", "Limburg"
    NOORD_BRABANT = "Noord-Brabant", "Noord-Brabant"
    NOORD_HOLLAND = "Noord-Holland", "Noord-Holland"
    OVERIJSSEL = "Overijssel", "Overijssel"
    UTRECHT = "Utrecht", "Utrecht"
    ZEELAND = "Zeeland", "Zeeland"
    ZUID_HOLLAND = "Zuid-Holland", "Zuid-Holland"


def next_version(instance, update_fields=None) -> None:
    """Optimistic locking: every save of an existing row is a new version.

    A save based on an older version is refused before it gets here, by
    `services.version_lock()` (admin forms, services, imports).
    """
    if not instance._state.adding and (update_fields is None or "version" in update_fields):
        instance.version += 1


class DatedModel(models.Model):
    """An EDTF date as entered, with derived bounds and precision.

    The bounds are derived on every save; they are never entered by hand.
    """

    date_text = models.CharField(
        _("date (EDTF)"),
        max_length=40,
        blank=True,
        validators=[dates.validate_date_text],
        help_text=dates.ACCEPTED_FORMS,
    )
    date_lower = models.DateField(_("earliest date"), null=True, blank=True, editable=False, db_index=True)
    date_upper = models.DateField(_("latest date"), null=True, blank=True, editable=False, db_index=True)
    date_precision = models.CharField(
        _("date precision"),
        max_length=10,
        choices=dates.Precision,
        default=dates.Precision.UNKNOWN,
        editable=False,
    )

    class Meta:
        abstract = True
        constraints = [
            models.CheckConstraint(
                condition=Q(date_lower__isnull=True) | Q(date_upper__isnull=True) | Q(date_lower__lte=F("date_upper")),
                name="%(class)s_date_bounds_ordered",
            ),
        ]

    def save(self, *args, **kwargs):
        self.derive_date()
        super().save(*args, **kwargs)

    def derive_date(self) -> dates.FuzzyDate:
        """Normalise date_text and set the bounds; raises ValidationError if unreadable."""
        parsed = dates.parse_date(self.date_text)
        self.date_text = parsed.text
        self.date_lower, self.date_upper, self.date_precision = parsed.lower, parsed.upper, parsed.precision
        return parsed

    @property
    def fuzzy_date(self) -> dates.FuzzyDate:
        return dates.FuzzyDate(self.date_text, self.date_lower, self.date_upper, self.date_precision)

    @property
    def date_in_words(self) -> str:
        return dates.render_date(self.date_text)

    @property
    def date_iso(self) -> str:
        return dates.iso_datetime_attr(self.date_text)


class MunicipalityQuerySet(models.QuerySet):
    def current(self):
        return self.filter(existed_until__isnull=True)


class Municipality(models.Model):
    cbs_code = models.CharField(
        _("CBS code"),
        max_length=6,
        unique=True,
        validators=[RegexValidator(CBS_CODE_PATTERN, _("A CBS code is GM followed by four digits, e.g. GM0935."))],
    )
    name = models.CharField(_("name"), max_length=100, db_index=True)
    slug = models.SlugField(_("slug"), max_length=120, unique=True)
    province = models.CharField(_("province"), max_length=20, choices=Province, blank=True)
    existed_from = models.DateField(_("existed from"), null=True, blank=True)
    existed_until = models.DateField(
        _("existed until"), null=True, blank=True, help_text=_("The last day the municipality existed.")
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="predecessors",
    )

    history = HistoricalRecords()
    objects = MunicipalityQuerySet.as_manager()

    class Meta:
        verbose_name = _("municipality")
        verbose_name_plural = _("municipalities")
        ordering = ["name", "cbs_code"]
        constraints = [
            models.CheckConstraint(condition=Q(cbs_code__regex=CBS_CODE_PATTERN), name="municipality_cbs_code_format"),
            models.CheckConstraint(
                condition=Q(existed_from__isnull=True)
                | Q(existed_until__isnull=True)
                | Q(existed_from__lte=F("existed_until")),
                name="municipality_existence_ordered",
            ),
            models.CheckConstraint(condition=~Q(merged_into=F("pk")), name="municipality_not_merged_into_itself"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("cooperation:municipality-detail", args=[self.cbs_code])

    @property
    def tooi_uri(self) -> str:
        """The government-wide identifier (TOOI) that follows from the CBS code."""
        return f"https://identifier.overheid.nl/tooi/id/gemeente/{self.cbs_code.lower()}"


class Pillar(models.Model):
    class Code(models.TextChoices):
        KNOWLEDGE_SHARING = "knowledge_sharing", _("knowledge sharing")
        ARCHITECTURE_ALIGNMENT = "architecture_alignment", _("architecture alignment")
        JOINT_PROCUREMENT = "joint_procurement", _("joint procurement")
        SERVICE_MODERNISATION = "service_modernisation", _("service modernisation")

    code = models.CharField(_("code"), max_length=30, choices=Code, unique=True)
    name_nl = models.CharField(_("name (Dutch)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    description_nl = models.TextField(_("description (Dutch)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("pillar")
        verbose_name_plural = _("pillars")
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("cooperation:pillar-detail", args=[self.code])

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "nl").startswith("en") else self.name_nl

    @property
    def description(self) -> str:
        return self.description_en if (get_language() or "nl").startswith("en") else self.description_nl


def list_prefetches(internal: bool = False) -> tuple:
    """What a list entry of a partnership shows besides its own fields (`_partnership_item.html`),
    for one audience."""
    memberships = Membership.objects.for_audience(internal).select_related("municipality")
    return ("pillars", Prefetch("memberships", queryset=memberships))


# The derived fields of Partnership that exist once per audience: the plain name is the public
# copy (which the search vector of migration 0019 is generated from), `staff_<name>` the staff copy.
AUDIENCE_FIELDS = ("status", "first_date", "last_date", "search_text", "last_evidence")


class _StaffIterable(ModelIterable):
    """Partnerships as staff see them: the staff copy of each derived field under its plain name,
    so templates, serializers and exports read `partnership.status` whatever the audience."""

    def __iter__(self):
        deferred = None
        for partnership in super().__iter__():
            if deferred is None:
                deferred = partnership.get_deferred_fields()
            for name in AUDIENCE_FIELDS:
                if f"staff_{name}" not in deferred:
                    setattr(partnership, name, getattr(partnership, f"staff_{name}"))
            partnership.audience = Audience.STAFF
            yield partnership


class AudienceQuerySet(models.QuerySet):
    """What the registers read per audience share: the audience a queryset reads (kept across
    clones), and the filters on the partnership a row belongs to (`partnership_column`: the row's
    own key for partnerships, its partnership's for agreements), as semi-joins (`IN (...)`), so each
    row once without DISTINCT."""

    audience = Audience.PUBLIC
    partnership_column = "partnership_id"

    def _clone(self):
        clone = super()._clone()
        clone.audience = self.audience
        return clone

    @property
    def internal(self) -> bool:
        return self.audience == Audience.STAFF

    def _memberships(self):
        return Membership.objects.filter(audience=self.audience)

    def with_member(self, **lookups):
        """Rows whose partnership has a member (current or former, in this audience's copy)
        matching `lookups`, e.g. `municipality__province="Zeeland"`."""
        members = self._memberships().filter(**lookups).values("partnership_id")
        return self.filter(**{f"{self.partnership_column}__in": members})

    def on_pillar(self, code: str):
        """Rows whose partnership works on the pillar with this code."""
        links = Partnership.pillars.through.objects.filter(pillar__code=code).values("partnership_id")
        return self.filter(**{f"{self.partnership_column}__in": links})


class PartnershipQuerySet(AudienceQuerySet):
    """Partnerships; `for_audience()` makes the derived fields, filters and orderings read one
    audience's copy (public unless told otherwise)."""

    partnership_column = "pk"

    def public(self):
        return self.filter(visibility=Visibility.PUBLIC)

    def for_audience(self, internal: bool):
        """What this audience may see, read from its derived copy: every partnership with the
        staff copy for staff (`permissions.can_view_internal`), public ones with the public copy
        for everyone else."""
        if not internal:
            clone = self.public()
            clone.audience = Audience.PUBLIC
            return clone
        clone = self._chain()
        clone.audience = Audience.STAFF
        clone._iterable_class = _StaffIterable
        return clone

    def audience_field(self, name: str) -> str:
        """The column holding this audience's copy of a derived field (AUDIENCE_FIELDS, changed_at)."""
        if self.audience == Audience.STAFF:
            return f"staff_{name}"
        return "public_changed_at" if name == "changed_at" else name

    def for_list(self):
        """Partnerships for list entries, without their long search texts. Pillars and memberships
        are read by `fragments.partnership_cards()`, only for entries not in the cache."""
        return self.defer("search_text", "staff_search_text")

    def with_status(self, status: str):
        return self.filter(**{self.audience_field("status"): status})

    def search(self, query: str):
        """Partnerships whose search text (this audience's copy) is found by `query`, as
        `search.filter_queryset()` reads it: Dutch stems and word prefixes; on PostgreSQL through
        the GIN-indexed vector of migration 0019 (one per audience), annotated with `search_rank`."""
        vector = "staff_search_vector" if self.audience == Audience.STAFF else "search_vector"
        return search.filter_queryset(self, query, field=self.audience_field("search_text"), vector=vector)

    def active_in(self, year: int):
        """Partnerships with a membership (in this audience's copy) that overlaps the given year
        (a semi-join: no DISTINCT needed)."""
        overlapping = self._memberships().filter(
            Q(start_lower__year__lte=year) | Q(start_lower__isnull=True),
            Q(end_upper__year__gte=year) | Q(end_upper__isnull=True),
            state__in=[Membership.State.ACTIVE, Membership.State.LEAVING, Membership.State.ENDED],
        )
        return self.filter(pk__in=overlapping.values("partnership_id"))

    def changed_since(self, moment):
        """Partnerships whose data as this audience sees it changed at or after `moment`: their
        "changed at" for this audience, or an event this audience sees (a semi-join)."""
        events = Event.objects.for_audience(self.audience == Audience.STAFF).filter(updated_at__gte=moment)
        return self.filter(
            Q(**{f"{self.audience_field('changed_at')}__gte": moment}) | Q(pk__in=events.values("partnership_id"))
        )

    def with_current_status(self, value: str, today: datetime.date):
        """Partnerships whose status today is `value`, as `timeline.current_status` states it:
        a "now" status (planned, active, ending) holds only while its latest evidence is
        within the horizon; older, it is "unknown" (one WHERE clause, no join)."""
        cutoff = today - datetime.timedelta(days=settings.PORTAL_EVIDENCE_HORIZON_DAYS)
        status, evidence = self.audience_field("status"), self.audience_field("last_evidence")
        fresh = Q(**{f"{evidence}__gte": cutoff})
        now_statuses = ["active", "ending", "planned"]  # timeline.NOW_STATUSES
        if value == "unknown":
            return self.filter(~fresh | Q(**{f"{evidence}__isnull": True}), **{f"{status}__in": now_statuses})
        if value in now_statuses:
            return self.filter(fresh, **{status: value})
        return self.filter(**{status: value})


class Partnership(models.Model):
    class LegalForm(models.TextChoices):
        COVENANT = "covenant", _("covenant (private-law cooperation agreement)")
        WGR_PUBLIC_BODY = "wgr_public_body", _("public body (Wgr)")
        WGR_JOINT_BODY = "wgr_joint_body", _("joint body (Wgr)")
        WGR_BUSINESS_UNIT = "wgr_business_unit", _("business operations organisation (Wgr)")
        WGR_REGULATION_ONLY = "wgr_regulation_only", _("regulation only, e.g. a central municipality (Wgr)")
        FOUNDATION_OR_COMPANY = "foundation_or_company", _("foundation or company")
        OTHER = "other", _("other")

    class Status(models.TextChoices):
        PLANNED = "planned", _("planned")
        ACTIVE = "active", _("active")
        ENDING = "ending", _("ending")
        ENDED = "ended", _("ended")
        # Never stored: what a "now" status becomes when its evidence is older than the horizon
        # (timeline.current_status, PartnershipQuerySet.with_current_status).
        UNKNOWN = "unknown", _("unknown since the latest source")

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=120, unique=True)
    summary = models.TextField(_("summary"), blank=True)
    legal_form = models.CharField(_("legal form"), max_length=30, choices=LegalForm, default=LegalForm.COVENANT)
    pillars = models.ManyToManyField(Pillar, verbose_name=_("pillars"), blank=True, related_name="partnerships")
    visibility = models.CharField(_("visibility"), max_length=10, choices=Visibility, default=Visibility.PUBLIC)
    last_verified = models.DateField(
        _("last verified"), null=True, blank=True, help_text=_("When the data was last checked against the sources.")
    )
    internal_note = models.TextField(_("internal note"), blank=True, help_text=_("Shown to signed-in users only."))
    is_synthetic = models.BooleanField(
        _("synthetic"), default=False, editable=False, db_index=True, help_text=_("Generated test data, not real.")
    )
    # Optimistic locking: incremented on every save; a save based on an older version is refused.
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    # Derived from the events by derived.rebuild(), once per audience; never edited by hand.
    # The plain fields are the public copy (public events of a public partnership), the `staff_`
    # fields the copy from all events; read them through `for_audience()`.
    status = models.CharField(
        _("status"), max_length=10, choices=Status, default=Status.PLANNED, editable=False, db_index=True
    )
    first_date = models.DateField(_("first event"), null=True, blank=True, editable=False, db_index=True)
    last_date = models.DateField(_("latest event"), null=True, blank=True, editable=False, db_index=True)
    # The most recent public evidence (event, source or verification): timeline.last_evidence.
    last_evidence = models.DateField(_("latest evidence"), null=True, blank=True, editable=False, db_index=True)
    # The search document (cooperation/search.py) of the partnership, its pillars, its members
    # (their provinces and former names) and its public events (PostgreSQL: a generated,
    # GIN-indexed vector of it, see migration 0019).
    search_text = models.TextField(editable=False, blank=True, default="")
    staff_status = models.CharField(
        _("status (staff)"), max_length=10, choices=Status, default=Status.PLANNED, editable=False, db_index=True
    )
    staff_first_date = models.DateField(_("first event (staff)"), null=True, blank=True, editable=False)
    staff_last_date = models.DateField(_("latest event (staff)"), null=True, blank=True, editable=False)
    staff_search_text = models.TextField(editable=False, blank=True, default="")
    staff_last_evidence = models.DateField(_("latest evidence (staff)"), null=True, blank=True, editable=False)
    # When the partnership changed as each audience sees it: an internal edit moves only the staff
    # one. Public modification dates (API `updated_at`, `changed_since`, caches) read the public one.
    public_changed_at = models.DateTimeField(_("changed at (public)"), null=True, blank=True, editable=False)
    staff_changed_at = models.DateTimeField(_("changed at (staff)"), null=True, blank=True, editable=False)
    # A digest of everything the public copy shows, so that a rebuild knows whether it changed.
    public_digest = models.CharField(max_length=64, blank=True, default="", editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    # The derived copies are not history: they follow from the events and are rebuilt, not edited.
    history = HistoricalRecords(
        m2m_fields=[pillars],
        excluded_fields=[
            "staff_status",
            "staff_first_date",
            "staff_last_date",
            "staff_search_text",
            "staff_last_evidence",
            "public_changed_at",
            "staff_changed_at",
            "public_digest",
        ],
    )
    objects = PartnershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("partnership")
        verbose_name_plural = _("partnerships")
        ordering = ["name"]
        # fragments.register_stamp() reads count and latest change from these indexes alone.
        indexes = [
            models.Index(fields=["updated_at", "id"], name="partnership_changed"),
            models.Index(fields=["visibility", "public_changed_at", "id"], name="partnership_public_changed"),
            models.Index(fields=["staff_changed_at", "id"], name="partnership_staff_changed"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        next_version(self, kwargs.get("update_fields"))
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("cooperation:partnership-detail", args=[self.slug])

    @property
    def changed_at(self):
        """When this partnership last changed for the audience it was read for (`for_audience`)."""
        if getattr(self, "audience", Audience.PUBLIC) == Audience.STAFF:
            return self.staff_changed_at
        return self.public_changed_at


class AgreementQuerySet(AudienceQuerySet):
    """Agreements; `for_audience()` makes the state, filters and search read one audience's events,
    memberships and evidence (public unless told otherwise), like `PartnershipQuerySet`."""

    def public(self):
        return self.filter(visibility=Visibility.PUBLIC, partnership__visibility=Visibility.PUBLIC)

    def for_audience(self, internal: bool):
        """Every agreement for staff (`permissions.can_view_internal`); public agreements of public
        partnerships for everyone else."""
        clone = self._chain() if internal else self.public()
        clone.audience = audience_of(internal)
        return clone

    def _citing(self):
        """The events citing the outer agreement that this audience sees (for `Exists`)."""
        # "agreement is not null" lets PostgreSQL read the few citing events from the agreement
        # index instead of hashing every event of the register (50 ms on 196,000 events).
        return Event.objects.for_audience(self.internal).filter(agreement__isnull=False, agreement=OuterRef("pk"))

    def evidence_field(self) -> str:
        """The partnership's newest evidence for this audience (`derived.rebuild`, `timeline.last_evidence`)."""
        return "partnership__staff_last_evidence" if self.internal else "partnership__last_evidence"

    def with_state(self, today: datetime.date):
        """Each agreement with `state` as `timeline.agreement_state` says it today for this audience,
        and `evidence` (its partnership's newest evidence): one CASE over the stored facts (its date,
        its term, EXISTS over the events citing it, the partnership's evidence), so a filter on the
        state is a WHERE clause. tests/test_agreements.py checks that both agree, case by case."""
        if "state" in self.query.annotations:
            return self
        citing = self._citing()
        happened = citing.filter(status=timeline.HAPPENED)
        evidence = self.evidence_field()
        ending_by = today + datetime.timedelta(days=settings.PORTAL_AGREEMENT_ENDING_DAYS)
        fresh_from = today - datetime.timedelta(days=settings.PORTAL_EVIDENCE_HORIZON_DAYS)
        signed = Q(date_lower__isnull=False) | Q(
            Exists(happened.filter(kind__in=timeline.START_KINDS | {"amended", "renewed"}))
        )
        return self.annotate(
            evidence=F(evidence),
            state=Case(
                When(
                    Exists(happened.filter(kind__in=timeline.TERMINATION_KINDS)),
                    then=Value(timeline.AGREEMENT_TERMINATED),
                ),
                When(term_end__lt=today, then=Value(timeline.AGREEMENT_ENDED)),
                When(signed & Q(term_end__lte=ending_by), then=Value(timeline.AGREEMENT_ENDING)),
                When(signed & Q(term_end__isnull=False), then=Value(timeline.IN_FORCE)),
                When(signed & Q(**{f"{evidence}__gte": fresh_from}), then=Value(timeline.IN_FORCE)),
                When(signed, then=Value(timeline.UNKNOWN)),
                When(Exists(citing.filter(status=timeline.PLANNED)), then=Value(timeline.AGREEMENT_PLANNED)),
                default=Value(timeline.UNKNOWN),
                output_field=models.CharField(),
            ),
        )

    def in_state(self, state: str, today: datetime.date):
        return self.with_state(today).filter(state=state)

    def in_force_on(self, day: datetime.date):
        """Agreements whose term covers `day`: begun by then (its term start, else its signing, by
        the latest day its date allows), its term not ended before it, and no termination citing it
        that surely happened before it."""
        terminated = self._citing().filter(
            status=timeline.HAPPENED, kind__in=timeline.TERMINATION_KINDS, date_upper__lt=day
        )
        return self.filter(
            Q(term_start__lte=day) | Q(term_start__isnull=True, date_upper__lte=day),
            Q(term_end__isnull=True) | Q(term_end__gte=day),
        ).exclude(Exists(terminated))

    def search(self, query: str):
        """Agreements whose search document (this audience's copy, `derived.agreement_search_text`:
        title, description, kind, term note, partnership, parties, and the title and text extract
        of the documents this audience may see) is found by `query`, as `search.filter_queryset()`
        reads it: Dutch stems and word prefixes; on PostgreSQL through the GIN-indexed vector of
        migration 0020 (one per audience), annotated with `search_rank`."""
        field, vector = AGREEMENT_SEARCH_COLUMNS[self.audience]
        return search.filter_queryset(self, query, field=field, vector=vector)

    def for_list(self):
        """Agreements without their long search documents (what lists, pages and exports show)."""
        return self.defer(*AGREEMENT_SEARCH_FIELDS)


# The search documents of an agreement, per audience (written by derived.py only), and on
# PostgreSQL the generated, GIN-indexed vectors of them (migration 0020).
AGREEMENT_SEARCH_COLUMNS = {
    Audience.PUBLIC: ("search_text", "search_vector"),
    Audience.STAFF: ("staff_search_text", "staff_search_vector"),
}
AGREEMENT_SEARCH_FIELDS = tuple(field for field, _vector in AGREEMENT_SEARCH_COLUMNS.values())


class Agreement(DatedModel):
    """A signed (or intended) document between the members of a partnership. Its date is the date
    it was signed; what happened to it (amended, renewed, terminated) is told by the events citing it."""

    class Kind(models.TextChoices):
        DECLARATION_OF_INTENT = "declaration_of_intent", _("declaration of intent")
        COOPERATION_AGREEMENT = "cooperation_agreement", _("cooperation agreement")
        FRAMEWORK_CONTRACT = "framework_contract", _("framework contract")
        JOINT_ARRANGEMENT = "joint_arrangement", _("joint arrangement (Wgr)")
        SERVICE_LEVEL_AGREEMENT = "service_level_agreement", _("service level agreement")
        OTHER = "other", _("other")

    partnership = models.ForeignKey(
        Partnership, verbose_name=_("partnership"), on_delete=models.CASCADE, related_name="agreements"
    )
    kind = models.CharField(_("kind"), max_length=30, choices=Kind)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    term_start = models.DateField(_("term starts"), null=True, blank=True)
    term_end = models.DateField(_("term ends"), null=True, blank=True, db_index=True)
    term_note = models.CharField(_("term note"), max_length=200, blank=True, help_text=_("e.g. “four years”"))
    uid = models.UUIDField(_("public identifier"), default=uuid.uuid4, unique=True, editable=False)
    visibility = models.CharField(_("visibility"), max_length=10, choices=Visibility, default=Visibility.PUBLIC)
    # The search documents (cooperation/search.py) of the agreement for each audience, written by
    # derived.py when its partnership is rebuilt; the public one holds nothing internal.
    search_text = models.TextField(editable=False, blank=True, default="")
    staff_search_text = models.TextField(editable=False, blank=True, default="")

    # The search documents are derived, not edited: no history of them.
    history = HistoricalRecords(excluded_fields=list(AGREEMENT_SEARCH_FIELDS))
    objects = AgreementQuerySet.as_manager()

    class Meta(DatedModel.Meta):
        verbose_name = _("agreement")
        verbose_name_plural = _("agreements")
        ordering = ["partnership", F("date_lower").asc(nulls_last=True), "title"]
        constraints = [
            *DatedModel.Meta.constraints,
            models.CheckConstraint(
                condition=Q(term_start__isnull=True) | Q(term_end__isnull=True) | Q(term_start__lte=F("term_end")),
                name="agreement_term_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("cooperation:agreement-detail", args=[self.uid])


def document_path(instance, filename: str) -> str:
    """Where a document's file is stored: under its own uid, so names never collide or guess."""
    return f"documents/{instance.uid}/{get_valid_filename(filename)}"


class DocumentQuerySet(models.QuerySet):
    def public(self):
        """Public documents of public agreements or events of public partnerships."""
        return self.filter(visibility=Visibility.PUBLIC).filter(
            Q(
                agreement__visibility=Visibility.PUBLIC,
                agreement__partnership__visibility=Visibility.PUBLIC,
            )
            | Q(event__visibility=Visibility.PUBLIC, event__partnership__visibility=Visibility.PUBLIC)
        )

    def for_audience(self, internal: bool):
        return self if internal else self.public()

    def of_partnerships(self, partnership_ids):
        """The documents of these partnerships' agreements and events."""
        ids = list(partnership_ids)
        return self.filter(Q(agreement__partnership__in=ids) | Q(event__partnership__in=ids))

    def for_list(self):
        """What a list of documents shows (`_documents.html`): everything but the text itself, and
        whether there is any (`has_text`)."""
        return self.defer("text").annotate(
            has_text=models.ExpressionWrapper(~Q(text=""), output_field=models.BooleanField())
        )


class Document(DatedModel):
    """A file behind an agreement or an event: the signed agreement, the council decision, an
    amendment. Its date is the document's own date (signed, decided)."""

    class Kind(models.TextChoices):
        SIGNED_AGREEMENT = "signed_agreement", _("signed agreement")
        COUNCIL_DECISION = "council_decision", _("council decision")
        EXECUTIVE_DECISION = "executive_decision", _("executive decision")
        AMENDMENT = "amendment", _("amendment")
        OTHER = "other", _("other")

    class Language(models.TextChoices):
        DUTCH = "nl", _("Dutch")
        ENGLISH = "en", _("English")
        OTHER = "other", _("other language")

    uid = models.UUIDField(_("public identifier"), default=uuid.uuid4, unique=True, editable=False)
    agreement = models.ForeignKey(
        Agreement,
        verbose_name=_("agreement"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="documents",
    )
    event = models.ForeignKey(
        "Event", verbose_name=_("event"), null=True, blank=True, on_delete=models.CASCADE, related_name="documents"
    )
    kind = models.CharField(_("kind"), max_length=30, choices=Kind, default=Kind.SIGNED_AGREEMENT)
    title = models.CharField(_("title"), max_length=200)
    language = models.CharField(_("language"), max_length=10, choices=Language, default=Language.DUTCH)
    visibility = models.CharField(_("visibility"), max_length=10, choices=Visibility, default=Visibility.PUBLIC)
    file = models.FileField(_("file"), upload_to=document_path, max_length=300)
    content_type = models.CharField(_("file type"), max_length=100, editable=False)
    size = models.PositiveBigIntegerField(_("size (bytes)"), default=0, editable=False)
    sha256 = models.CharField(_("checksum (SHA-256)"), max_length=64, editable=False)
    text = models.TextField(_("text extract"), blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords()
    objects = DocumentQuerySet.as_manager()

    class Meta(DatedModel.Meta):
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = [F("date_lower").asc(nulls_last=True), "title", "pk"]
        constraints = [
            *DatedModel.Meta.constraints,
            models.CheckConstraint(
                condition=Q(agreement__isnull=False, event__isnull=True)
                | Q(agreement__isnull=True, event__isnull=False),
                name="document_of_agreement_or_event",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("cooperation:document-download", args=[self.uid])

    @property
    def text_available(self) -> bool:
        """Whether the file has a text layer (a scan without one has an empty extract)."""
        if "has_text" in self.__dict__:
            return self.has_text
        return bool(self.text)


class Source(models.Model):
    class Kind(models.TextChoices):
        PRESS_RELEASE = "press_release", _("press release")
        NEWS_ARTICLE = "news_article", _("news article")
        COUNCIL_DECISION = "council_decision", _("council decision")
        REGISTER_ENTRY = "register_entry", _("register entry")
        OTHER = "other", _("other")

    url = models.URLField(_("URL"), max_length=500, blank=True)
    title = models.CharField(_("title"), max_length=300)
    publisher = models.CharField(_("publisher"), max_length=200, blank=True)
    author = models.CharField(_("author"), max_length=200, blank=True)
    published_on = models.DateField(_("published on"), null=True, blank=True)
    retrieved_on = models.DateField(_("retrieved on"), null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind, default=Kind.NEWS_ARTICLE)
    is_synthetic = models.BooleanField(_("synthetic"), default=False, editable=False, db_index=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("source")
        verbose_name_plural = _("sources")
        ordering = ["-published_on", "title"]
        constraints = [
            models.UniqueConstraint(fields=["url"], condition=~Q(url=""), name="source_url_unique"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return self.url


class Person(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    description = models.TextField(_("description"), blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class EventQuerySet(models.QuerySet):
    def public(self):
        return self.filter(visibility=Visibility.PUBLIC, partnership__visibility=Visibility.PUBLIC)

    def for_audience(self, internal: bool):
        """Every event for staff (`permissions.can_view_internal`); public events of public
        partnerships for everyone else."""
        return self if internal else self.public()

    def for_timeline(self) -> list:
        """The events, each with `municipality_list` (the successor of a former one attached) and
        `source_list`, in their models' orders: 3 queries whatever the count, and one instance per
        municipality or source however many events share it (a prefetch would make one per pair,
        which costs seconds on a partnership with thousands of events). The people of the events a
        page shows are added by `with_participants` (1 query)."""
        events = list(self.select_related("agreement", "pillar"))
        by_pk = {event.pk: event for event in events}
        for event in events:
            event.municipality_list, event.source_list = [], []
        if not events:
            return events
        selected = self.order_by().values("pk")
        fields = [f.attname for f in Municipality._meta.concrete_fields]
        successor_fields = ["id", "cbs_code", "name", "slug"]
        pairs = (
            Event.municipalities.through.objects.filter(event__in=selected)
            .order_by(*(f"municipality__{name}" for name in Municipality._meta.ordering), "municipality_id")
            .values_list(
                "event_id",
                *(f"municipality__{f}" for f in fields),
                *(f"municipality__merged_into__{f}" for f in successor_fields),
            )
        )
        municipalities: dict[int, Municipality] = {}
        end = len(fields) + 1
        for row in pairs:
            municipality = municipalities.get(row[1])
            if municipality is None:
                municipality = municipalities[row[1]] = Municipality.from_db(self.db, fields, row[1:end])
                if row[end] is not None:
                    municipality.merged_into = Municipality.from_db(self.db, successor_fields, row[end:])
            by_pk[row[0]].municipality_list.append(municipality)
        fields = [f.attname for f in Source._meta.concrete_fields]
        pairs = (
            Event.sources.through.objects.filter(event__in=selected)
            .order_by(F("source__published_on").desc(), "source__title", "source_id")
            .values_list("event_id", *(f"source__{f}" for f in fields))
        )
        sources: dict[int, Source] = {}
        for row in pairs:
            source = sources.get(row[1])
            if source is None:
                source = sources[row[1]] = Source.from_db(self.db, fields, row[1:])
            by_pk[row[0]].source_list.append(source)
        return events

    @staticmethod
    def with_participants(events: list) -> list:
        """Add the people of these (already fetched) events: 1 query, none for no events."""
        prefetch_related_objects(
            events, Prefetch("participants", queryset=Participant.objects.select_related("person", "municipality"))
        )
        return events


class Event(DatedModel):
    # The vocabulary lives with the derivations that read it (timeline.KIND_LABELS).
    Kind = models.TextChoices("Kind", [(kind.upper(), (kind, label)) for kind, label in timeline.KIND_LABELS.items()])

    class Status(models.TextChoices):
        HAPPENED = "happened", _("happened")
        PLANNED = "planned", _("planned")
        ABANDONED = "abandoned", _("abandoned")

    class Role(models.TextChoices):
        PARTICIPANT = "participant", _("participant")
        CENTRAL_MUNICIPALITY = "central_municipality", _("central municipality")
        LEAD = "lead", _("lead municipality")

    class DecidedBy(models.TextChoices):
        COUNCIL = "council", _("municipal council")
        EXECUTIVE = "executive", _("executive (college van B&W)")
        MAYOR = "mayor", _("mayor")
        ALDERMEN = "aldermen", _("aldermen")
        TOWN_CLERKS = "town_clerks", _("town clerks and management")
        PARTNERSHIP_BOARD = "partnership_board", _("board of the partnership")
        OTHER = "other", _("other")

    uid = models.UUIDField(_("public identifier"), default=uuid.uuid4, unique=True, editable=False)
    partnership = models.ForeignKey(
        Partnership, verbose_name=_("partnership"), on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("kind"), max_length=30, choices=Kind)
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.HAPPENED)
    municipalities = models.ManyToManyField(
        Municipality, verbose_name=_("municipalities"), blank=True, related_name="events"
    )
    role = models.CharField(
        _("role"),
        max_length=30,
        choices=Role,
        default=Role.PARTICIPANT,
        help_text=_("The role of these municipalities in the partnership, when they sign or join."),
    )
    title = models.CharField(_("title"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    agreement = models.ForeignKey(
        Agreement, verbose_name=_("agreement"), null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    pillar = models.ForeignKey(
        Pillar, verbose_name=_("pillar"), null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    decided_by = models.CharField(_("decided by"), max_length=20, choices=DecidedBy, blank=True)
    proposed_by = models.CharField(
        _("proposed by"),
        max_length=200,
        blank=True,
        help_text=_("Who voiced a plan, as the source names them (a person or a body)."),
    )
    reason = models.TextField(_("reason"), blank=True)
    cost_eur = models.DecimalField(_("cost (EUR)"), max_digits=14, decimal_places=2, null=True, blank=True)
    cost_note = models.CharField(_("cost note"), max_length=300, blank=True, help_text=_("e.g. “to be determined”"))
    procurement_reference = models.CharField(
        _("procurement reference"), max_length=100, blank=True, help_text=_("e.g. the TenderNed notice number")
    )
    sources = models.ManyToManyField(Source, verbose_name=_("sources"), blank=True, related_name="events")
    visibility = models.CharField(_("visibility"), max_length=10, choices=Visibility, default=Visibility.PUBLIC)
    cost_internal = models.BooleanField(
        _("costs are internal"), default=False, help_text=_("Show the cost only to signed-in users.")
    )
    internal_note = models.TextField(_("internal note"), blank=True, help_text=_("Shown to signed-in users only."))
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, db_index=True)

    history = HistoricalRecords(m2m_fields=[municipalities, sources])
    objects = EventQuerySet.as_manager()

    class Meta(DatedModel.Meta):
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["partnership", F("date_lower").asc(nulls_last=True), "pk"]
        indexes = [
            models.Index(fields=["partnership", "date_lower"], name="event_partnership_date"),
            # The home page's latest events: newest first, read from the index until 8 match.
            models.Index(F("date_upper").desc(nulls_last=True), F("id").desc(), name="event_latest"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.date_in_words})"

    def save(self, *args, **kwargs):
        next_version(self, kwargs.get("update_fields"))
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return f"{self.partnership.get_absolute_url()}#event-{self.uid}"

    def clean(self) -> None:
        """Derive the date and apply the domain rules of `timeline.check_rules`.

        The municipalities come from `self.pending_municipalities` when a form
        has them but has not saved them yet, else from the database. The admin's
        inline formset checks all events of a partnership together instead
        (`rules_checked_by_formset`), so events entered in one save see each other.
        """
        try:
            self.derive_date()
        except ValidationError as error:
            raise ValidationError({"date_text": error.messages}) from None
        if self.agreement_id and self.partnership_id and self.agreement.partnership_id != self.partnership_id:
            raise ValidationError(
                {
                    "agreement": ValidationError(
                        _("This agreement belongs to another partnership. Choose an agreement of this partnership."),
                        code="agreement_of_other_partnership",
                    )
                }
            )
        if not self.partnership_id or getattr(self, "rules_checked_by_formset", False):
            return
        municipalities = getattr(self, "pending_municipalities", None)
        if municipalities is None:
            municipalities = list(self.municipalities.all()) if self.pk else []
        siblings = self.partnership.events.exclude(pk=self.pk).prefetch_related("municipalities")
        facts = [timeline.facts_from_event(event) for event in siblings]
        me = timeline.facts_from_event(self, municipalities)
        problems = timeline.check_rules([*facts, me], self.partnership.name)
        mine = [problem.message for problem in problems if problem.event_key == me.key]
        if mine:
            raise ValidationError(mine, code="domain_rule")


class Participant(models.Model):
    """A person who took part in an event, in a role, for a municipality."""

    class Role(models.TextChoices):
        ALDERMAN = "alderman", _("alderman")
        MAYOR = "mayor", _("mayor")
        TOWN_CLERK = "town_clerk", _("town clerk")
        DIRECTOR = "director", _("director")
        COUNCIL_MEMBER = "council_member", _("council member")
        CIVIL_SERVANT = "civil_servant", _("civil servant")
        OTHER = "other", _("other")

    event = models.ForeignKey(Event, verbose_name=_("event"), on_delete=models.CASCADE, related_name="participants")
    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="participations"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role)
    municipality = models.ForeignKey(
        Municipality, verbose_name=_("municipality"), null=True, blank=True, on_delete=models.PROTECT
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        ordering = ["event", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["event", "person", "role"], name="participant_unique_per_event_role"),
        ]

    def __str__(self) -> str:
        return f"{self.person} ({self.get_role_display()})"


class Verification(models.Model):
    """An editor's check of a partnership against its sources: an act, recorded as a row."""

    partnership = models.ForeignKey(
        Partnership, verbose_name=_("partnership"), on_delete=models.CASCADE, related_name="verifications"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("verified by"), on_delete=models.PROTECT, related_name="+"
    )
    verified_on = models.DateField(_("verified on"))
    sources = models.ManyToManyField(Source, verbose_name=_("sources checked"), blank=True, related_name="+")
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("verification")
        verbose_name_plural = _("verifications")
        ordering = ["partnership", "-verified_on", "-pk"]

    def __str__(self) -> str:
        return f"{self.partnership} ({self.verified_on:%Y-%m-%d})"

    def get_absolute_url(self) -> str:
        return self.partnership.get_absolute_url()


class MembershipQuerySet(models.QuerySet):
    def for_audience(self, internal: bool):
        """The copy derived for this audience: from public events only, or from all (staff)."""
        return self.filter(audience=audience_of(internal))


class Membership(models.Model):
    """A derived membership period, one copy per audience; written only by derived.rebuild()."""

    class State(models.TextChoices):
        PLANNED = "planned", _("planned")
        ACTIVE = "active", _("member")
        LEAVING = "leaving", _("leaving")
        ENDED = "ended", _("left")

    partnership = models.ForeignKey(Partnership, on_delete=models.CASCADE, related_name="memberships")
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=30, choices=Event.Role, default=Event.Role.PARTICIPANT)
    state = models.CharField(max_length=10, choices=State)
    start_text = models.CharField(max_length=40, blank=True)
    start_lower = models.DateField(null=True, blank=True, db_index=True)
    end_text = models.CharField(max_length=81, blank=True)
    end_upper = models.DateField(null=True, blank=True, db_index=True)
    ended_by = models.CharField(max_length=30, choices=Event.Kind, blank=True)
    position = models.PositiveIntegerField(default=0)
    audience = models.CharField(max_length=6, choices=Audience, default=Audience.PUBLIC)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["partnership", "position"]
        indexes = [
            models.Index(fields=["audience", "municipality", "partnership"], name="membership_audience_member"),
            models.Index(fields=["partnership", "audience", "position"], name="membership_audience_order"),
        ]

    def __str__(self) -> str:
        return f"{self.municipality} in {self.partnership}"

    def get_absolute_url(self) -> str:
        return self.partnership.get_absolute_url()

    @property
    def start_in_words(self) -> str:
        return dates.render_date(self.start_text)

    @property
    def end_in_words(self) -> str:
        return dates.render_date(self.end_text)


class EditorProfile(models.Model):
    """The municipalities an editor works for; their partnerships are the ones they may change."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="editor_profile"
    )
    municipalities = models.ManyToManyField(
        Municipality, verbose_name=_("municipalities"), blank=True, related_name="editors"
    )
    receives_reminders = models.BooleanField(
        _("receives reminders"),
        default=True,
        help_text=_("A daily e-mail of planned events and agreement terms ending for these municipalities."),
    )

    history = HistoricalRecords(m2m_fields=[municipalities])

    class Meta:
        verbose_name = _("editor profile")
        verbose_name_plural = _("editor profiles")

    def __str__(self) -> str:
        return str(self.user)

    def get_absolute_url(self) -> str:
        return reverse("admin:cooperation_editorprofile_change", args=[self.pk])


class SubscriptionQuerySet(models.QuerySet):
    def for_page(self):
        """A user's subscriptions with what they follow: 1 query."""
        return self.select_related("partnership", "municipality", "pillar").order_by("created_at", "pk")


class Subscription(models.Model):
    """A user follows exactly one partnership, municipality or pillar and hears of its new events."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="subscriptions"
    )
    partnership = models.ForeignKey(
        Partnership, verbose_name=_("partnership"), null=True, blank=True, on_delete=models.CASCADE
    )
    municipality = models.ForeignKey(
        Municipality, verbose_name=_("municipality"), null=True, blank=True, on_delete=models.CASCADE
    )
    pillar = models.ForeignKey(Pillar, verbose_name=_("pillar"), null=True, blank=True, on_delete=models.CASCADE)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        ordering = ["user", "created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(partnership__isnull=False, municipality__isnull=True, pillar__isnull=True)
                | Q(partnership__isnull=True, municipality__isnull=False, pillar__isnull=True)
                | Q(partnership__isnull=True, municipality__isnull=True, pillar__isnull=False),
                name="subscription_exactly_one_target",
            ),
            models.UniqueConstraint(
                fields=["user", "partnership"], condition=Q(partnership__isnull=False), name="subscription_partnership"
            ),
            models.UniqueConstraint(
                fields=["user", "municipality"],
                condition=Q(municipality__isnull=False),
                name="subscription_municipality",
            ),
            models.UniqueConstraint(
                fields=["user", "pillar"], condition=Q(pillar__isnull=False), name="subscription_pillar"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.target}"

    def get_absolute_url(self) -> str:
        return self.target.get_absolute_url()

    @property
    def target(self):
        return self.partnership or self.municipality or self.pillar


class Notification(models.Model):
    """The outbox: one e-mail to one recipient, written in the transaction of what caused it.

    `key` makes it unique per recipient and cause (an event's publication, a day's digest),
    so a cause recorded twice queues one e-mail; the sending task marks it sent, so a task
    delivered twice sends one e-mail.
    """

    class Kind(models.TextChoices):
        EVENT = "event", _("new event")
        BURST = "burst", _("summary of new events")
        DIGEST = "digest", _("reminder digest")

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")

    key = models.CharField(_("key"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recipient"), on_delete=models.CASCADE, related_name="notifications"
    )
    email = models.EmailField(_("e-mail address"))
    event = models.ForeignKey(
        Event, verbose_name=_("event"), null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    subject = models.CharField(_("subject"), max_length=300)
    body_text = models.TextField(_("plain text"))
    body_html = models.TextField(_("HTML"))
    unsubscribe_url = models.URLField(_("unsubscribe link"), max_length=1000, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    enqueued_at = models.DateTimeField(_("handed to the broker at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False), name="notification_sent_has_time"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {self.email}"

    def get_absolute_url(self) -> str:
        return reverse("admin:cooperation_notification_change", args=[self.pk])


class ImportJob(models.Model):
    """An uploaded import file: first a dry run (preview), then, once confirmed, the real import;
    small ones run in the request, large ones in the Celery worker (`porting.jobs`). The file is
    kept here so web hosts and workers need no shared disk; a reload, another tab, another web host
    or a worker restart loses nothing."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("waiting for a worker")
        PREVIEWING = "previewing", _("checking")
        PREVIEWED = "previewed", _("checked, waiting for confirmation")
        IMPORTING = "importing", _("importing")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=30)
    filename = models.CharField(_("file name"), max_length=255)
    data = models.BinaryField(_("file content"))
    status = models.CharField(_("status"), max_length=12, choices=Status, default=Status.QUEUED, db_index=True)
    confirmed = models.BooleanField(_("confirmed"), default=False)
    dry_run = models.BooleanField(_("report is a dry run"), default=True)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("rows processed"), default=0)
    new = models.PositiveIntegerField(_("new"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    duplicates = models.PositiveIntegerField(_("duplicates"), default=0)
    import_duplicates = models.BooleanField(_("import duplicates"), default=False)
    problems = models.JSONField(_("problems"), default=list, blank=True)
    preview = models.JSONField(_("preview of the first rows"), default=list, blank=True)
    error = models.TextField(_("error"), blank=True)
    task_id = models.CharField(_("Celery task id"), max_length=50, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    batch = models.ForeignKey(
        "ImportBatch",
        verbose_name=_("import batch"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(processed_rows__lte=F("total_rows")) | Q(total_rows=0), name="importjob_progress_bounded"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("cooperation:import-job", args=[self.pk])

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status in (self.Status.PREVIEWED, self.Status.DONE) else 0
        return min(100, self.processed_rows * 100 // self.total_rows)

    @property
    def ok(self) -> bool:
        return not self.problems and self.status not in (self.Status.FAILED,)


class OpenDataFile(models.Model):
    """A large open-data download (Popolo JSON, the register as CSV/XLSX), built by a Celery task
    (`tasks.build_open_data`) and served from here, so no request builds one."""

    name = models.CharField(_("name"), max_length=50, unique=True)
    content = models.BinaryField(_("content"))
    content_type = models.CharField(_("content type"), max_length=100)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    schema_version = models.CharField(_("schema version"), max_length=10)
    generated_at = models.DateTimeField(_("generated at"))
    # The public register's state when the file was built (`fragments.register_stamp`): a file
    # built before anything left public view is never served again.
    register_stamp = models.CharField(_("register state"), max_length=100, blank=True, editable=False)

    class Meta:
        verbose_name = _("open-data file")
        verbose_name_plural = _("open-data files")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("open-data:download", args=[self.name])


class ImportBatch(models.Model):
    """One applied import: a change set that an administrator can review and undo.

    Every historical record the import wrote carries the change reason
    `import:<pk>` (`change_reason`), so its changes show in each object's
    history and `imports.import_undo()` can find them all.
    """

    class Kind(models.TextChoices):
        MUNICIPALITIES = "municipalities", _("municipalities")
        PARTNERSHIPS = "partnerships", _("partnerships")
        AGREEMENTS = "agreements", _("agreements")
        EVENTS = "events", _("events")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind)
    filename = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(_("SHA-256 of the file"), max_length=64)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("imported by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("imported at"), auto_now_add=True, db_index=True)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    new = models.PositiveIntegerField(_("new"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("undone by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.filename}"

    def get_absolute_url(self) -> str:
        return reverse("admin:cooperation_importbatch_change", args=[self.pk])

    @property
    def change_reason(self) -> str:
        return f"import:{self.pk}"
