"""Pure functions from a partnership's events to what they mean.

Events are the single source of truth: memberships (who was in from when to
when, and how they left), the partnership's status and the ordered timeline
are all derived here. Leaving is three dated steps (decision, exit,
disentanglement), any of which may be missing or vague, so a membership's
end is a range, not a point.

Pure: facts in, meanings out. No ORM, no model imports, no writes; `derived.py`
writes the cached copy (per audience) from what these functions return.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy

from . import dates

START_KINDS = frozenset({"cooperation_started", "signed", "joined"})
WITHDRAWAL_KINDS = frozenset({"withdrawal_decided", "withdrawn"})
TERMINATION_KINDS = frozenset({"termination_decided", "terminated", "dissolved"})
DISENTANGLEMENT_KINDS = frozenset({"disentanglement_started", "disentangled"})
# Kinds that only a member can be the subject of.
MEMBER_ONLY_KINDS = WITHDRAWAL_KINDS | DISENTANGLEMENT_KINDS

# Order of kinds that share a date: a start comes before what follows from it.
KIND_ORDER = {
    kind: position
    for position, kind in enumerate(
        [
            "cooperation_started",
            "intent_declared",
            "signed",
            "joined",
            "amended",
            "renewed",
            "tender_launched",
            "contract_awarded",
            "study_commissioned",
            "evaluated",
            "other",
            "withdrawal_decided",
            "withdrawn",
            "termination_decided",
            "terminated",
            "disentanglement_started",
            "disentangled",
            "costs_settled",
            "dissolved",
        ]
    )
}

HAPPENED, PLANNED, ABANDONED = "happened", "planned", "abandoned"

# The vocabulary of event kinds with their labels, in the order of the Wgr lifecycle; the model's
# `Event.Kind` choices are built from it, so the words exist once.
KIND_LABELS = {
    "cooperation_started": gettext_lazy("cooperation started"),
    "intent_declared": gettext_lazy("intent declared"),
    "signed": gettext_lazy("signed"),
    "joined": gettext_lazy("joined"),
    "tender_launched": gettext_lazy("tender launched"),
    "contract_awarded": gettext_lazy("contract awarded"),
    "study_commissioned": gettext_lazy("study commissioned"),
    "evaluated": gettext_lazy("evaluated"),
    "amended": gettext_lazy("amended"),
    "renewed": gettext_lazy("renewed"),
    "withdrawal_decided": gettext_lazy("withdrawal decided"),
    "withdrawn": gettext_lazy("withdrawn"),
    "termination_decided": gettext_lazy("termination decided"),
    "terminated": gettext_lazy("terminated"),
    "disentanglement_started": gettext_lazy("disentanglement started"),
    "disentangled": gettext_lazy("disentangled"),
    "costs_settled": gettext_lazy("costs settled"),
    "dissolved": gettext_lazy("dissolved"),
    "other": gettext_lazy("other"),
}


@dataclass(frozen=True)
class MunicipalityRef:
    pk: int
    name: str
    existed_until: datetime.date | None = None
    successor_name: str = ""


@dataclass(frozen=True)
class EventFacts:
    """What the derivations need to know of one event."""

    key: object
    kind: str
    status: str
    date: dates.FuzzyDate
    municipalities: tuple[MunicipalityRef, ...] = ()
    role: str = "participant"
    created: object = 0
    event: object = field(default=None, compare=False, repr=False)


@dataclass
class Membership:
    municipality: MunicipalityRef
    role: str
    start: dates.FuzzyDate
    state: str  # planned, active, leaving, ended
    start_event: EventFacts
    decision: EventFacts | None = None
    exit: EventFacts | None = None
    disentanglement: EventFacts | None = None
    termination: EventFacts | None = None
    end: dates.FuzzyDate | None = None
    ended_by: str = ""

    @property
    def termination_decided_by_others(self) -> str:
        """The members that decided the termination, when this member was not among them
        ("Schiedam"): the partnership's fate for this member, not its own decision."""
        if self.termination is None or not self.termination.municipalities:
            return ""
        if any(ref.pk == self.municipality.pk for ref in self.termination.municipalities):
            return ""
        return _names(self.termination.municipalities)


@dataclass(frozen=True)
class RuleViolation:
    event_key: object
    code: str
    message: str


def municipality_ref(municipality) -> MunicipalityRef:
    # Only a former municipality needs its successor's name (one query, rare).
    ceased = municipality.existed_until is not None and municipality.merged_into_id is not None
    return MunicipalityRef(
        pk=municipality.pk,
        name=municipality.name,
        existed_until=municipality.existed_until,
        successor_name=municipality.merged_into.name if ceased else "",
    )


def facts_from_event(event, municipalities: Iterable | None = None) -> EventFacts:
    """EventFacts of a model Event; `municipalities` (model instances, or MunicipalityRefs made
    once for many events) overrides the saved ones."""
    if municipalities is None:
        municipalities = event.municipalities.all() if event.pk else []
    parsed = dates.parse_date(event.date_text)
    return EventFacts(
        key=event.pk or id(event),
        kind=event.kind,
        status=event.status,
        date=parsed,
        municipalities=tuple(m if isinstance(m, MunicipalityRef) else municipality_ref(m) for m in municipalities),
        role=event.role,
        created=event.created_at or datetime.datetime.max.replace(tzinfo=datetime.UTC),
        event=event,
    )


def sort_key(facts: EventFacts) -> tuple:
    """Chronological: by earliest date (undated last), then latest date, kind, creation."""
    lower = facts.date.lower or facts.date.upper or datetime.date.max
    upper = facts.date.upper or datetime.date.max
    return (lower, upper, KIND_ORDER.get(facts.kind, 99), str(facts.created), str(facts.key))


def ordered(events: Iterable[EventFacts]) -> list[EventFacts]:
    return sorted(events, key=sort_key)


def _may_precede(earlier: dates.FuzzyDate, later: dates.FuzzyDate) -> bool:
    """Could `earlier` lie on or before `later`? Unknown dates could lie anywhere."""
    if earlier.lower is None or later.upper is None:
        return True
    return earlier.lower <= later.upper


def _span(start: dates.FuzzyDate, end: dates.FuzzyDate) -> dates.FuzzyDate:
    """A range from the start of one vague date to the end of another."""
    if not start.text or start.text == end.text:
        return end
    if not end.text:
        return dates.FuzzyDate(f"{start.text}/", start.lower, None, dates.Precision.INTERVAL)
    if "/" in start.text or "/" in end.text:
        return dates.FuzzyDate(
            f"{start.text.split('/')[0]}/{end.text.split('/')[-1]}", start.lower, end.upper, dates.Precision.INTERVAL
        )
    return dates.FuzzyDate(f"{start.text}/{end.text}", start.lower, end.upper, dates.Precision.INTERVAL)


def derive_memberships(events: Iterable[EventFacts]) -> list[Membership]:
    """Who was a member from when to when, and how it ended, in joining order.

    A start (cooperation_started, signed, joined) opens a membership; a
    withdrawal decision or a partnership-wide termination decision makes it
    "leaving"; an exit (withdrawn), a disentanglement without a recorded exit,
    or a termination/dissolution closes it. Abandoned events change nothing.
    Without an exit, the end spans from the decision to the disentanglement.

    Decision, exit and disentanglement each keep their own event, whatever the
    order in which their (vague or missing) dates sort: a step that follows the
    close of a membership still belongs to it, and a step that happened is kept
    over one that was only planned. Only a new start reopens a closed membership.
    """
    latest_by_municipality: dict[int, Membership] = {}
    memberships: list[Membership] = []
    for facts in ordered(events):
        if facts.status == ABANDONED:
            continue
        planned = facts.status == PLANNED
        if facts.kind in START_KINDS:
            for ref in facts.municipalities:
                current = latest_by_municipality.get(ref.pk)
                if current is None or (current.state == "ended" and not planned):
                    membership = Membership(
                        municipality=ref,
                        role=facts.role,
                        start=facts.date,
                        state="planned" if planned else "active",
                        start_event=facts,
                    )
                    latest_by_municipality[ref.pk] = membership
                    memberships.append(membership)
                elif current.state == "planned" and not planned:
                    current.start, current.start_event, current.state = facts.date, facts, "active"
                elif facts.role != "participant":
                    current.role = facts.role
            continue
        if facts.kind in MEMBER_ONLY_KINDS:
            for ref in facts.municipalities:
                membership = latest_by_municipality.get(ref.pk)
                if membership is not None:
                    _leave(membership, facts, planned)
            continue
        if facts.kind in TERMINATION_KINDS:
            for membership in latest_by_municipality.values():
                if membership.state == "ended" and membership.ended_by != "terminated":
                    continue  # left before the partnership ended
                if facts.kind == "termination_decided":
                    membership.termination = _prefer(membership.termination, facts)
                    if not planned and membership.state == "active":
                        membership.state = "leaving"
                elif not planned:
                    if membership.exit is None or membership.exit.status == PLANNED:
                        membership.end, membership.ended_by = facts.date, facts.kind
                        membership.exit = facts
                    membership.state = "ended"
    return memberships


def _prefer(current: EventFacts | None, new: EventFacts) -> EventFacts:
    """The step to keep: the first that happened, else the first planned."""
    if current is None or (current.status == PLANNED and new.status == HAPPENED):
        return new
    return current


def _leave(membership: Membership, facts: EventFacts, planned: bool) -> None:
    if facts.kind == "withdrawal_decided":
        membership.decision = _prefer(membership.decision, facts)
        if not planned and membership.state == "active":
            membership.state = "leaving"
        return
    if facts.kind == "withdrawn":
        kept = _prefer(membership.exit if membership.ended_by != "terminated" else None, facts)
        if kept is facts:
            membership.exit = facts
            membership.end, membership.ended_by = facts.date, "withdrawn"
        if not planned:
            membership.state = "ended"
        elif membership.state == "active":
            membership.state = "leaving"
        return
    current = membership.disentanglement
    if (
        current is None
        or (current.status == PLANNED and not planned)
        or (current.kind == "disentanglement_started" and facts.kind == "disentangled" and not planned)
    ):
        membership.disentanglement = facts
    if membership.exit is not None or facts.kind != "disentangled" or planned:
        if not planned and membership.state == "active":
            membership.state = "leaving"
        return
    # Disentangled without a recorded exit: the membership ended somewhere
    # between the decision (or termination decision) and the disentanglement.
    decided = membership.decision or membership.termination
    membership.end = _span(decided.date, facts.date) if decided else facts.date
    membership.ended_by = "withdrawn" if membership.decision else "terminated"
    membership.state = "ended"


def derive_status(events: Sequence[EventFacts], memberships: Sequence[Membership] | None = None) -> str:
    """planned, active, ending or ended.

    Ended once the partnership was terminated or dissolved, or every
    membership ended; ending once a termination was decided (never active
    after that decision); planned while nothing has started.
    """
    if memberships is None:
        memberships = derive_memberships(events)
    happened = [facts for facts in events if facts.status == HAPPENED]
    kinds = {facts.kind for facts in happened}
    if kinds & {"terminated", "dissolved"}:
        return "ended"
    if memberships and all(m.state == "ended" for m in memberships):
        return "ended"
    if "termination_decided" in kinds:
        return "ending"
    if any(m.state in ("active", "leaving") for m in memberships):
        return "active"
    return "planned"


# --- Status as of the evidence ------------------------------------------------

# States that say something about today; "ended" and "left" are past facts.
NOW_STATUSES = frozenset({"planned", "active", "ending"})
NOW_MEMBERSHIP_STATES = frozenset({"planned", "active", "leaving"})
UNKNOWN = "unknown"


def horizon_days() -> int:
    """How old evidence may be before a "now" claim must say how old it is (days)."""
    from django.conf import settings

    return settings.PORTAL_EVIDENCE_HORIZON_DAYS


def last_evidence(
    events: Iterable[EventFacts],
    source_dates: Iterable[datetime.date | None] = (),
    verified: Iterable[datetime.date | None] = (),
) -> datetime.date | None:
    """The date of the most recent evidence: the latest dated event that happened (its earliest
    possible day, so a vague date claims no more than it says), the latest published date of a
    cited source, or the latest recorded verification against the sources."""
    candidates = [f.date.lower for f in events if f.status == HAPPENED and f.date.lower]
    candidates += [day for day in source_dates if day]
    candidates += [day for day in verified if day]
    return max(candidates, default=None)


def is_stale(evidence: datetime.date | None, today: datetime.date, horizon: int | None = None) -> bool:
    """Is the evidence older than the horizon (or missing)?"""
    horizon = horizon_days() if horizon is None else horizon
    return evidence is None or (today - evidence).days > horizon


def current_status(
    status: str, evidence: datetime.date | None, today: datetime.date, horizon: int | None = None
) -> str:
    """The status to state today: "unknown" when a "now" status rests on evidence older than the horizon."""
    if status in NOW_STATUSES and is_stale(evidence, today, horizon):
        return UNKNOWN
    return status


def as_of(
    label: str, state: str, evidence: datetime.date | None, today: datetime.date, horizon: int | None = None
) -> str:
    """A "now" label, qualified when its evidence is old: "actief volgens de laatste bron (27 oktober 2010)"."""
    if state not in NOW_STATUSES | NOW_MEMBERSHIP_STATES or not is_stale(evidence, today, horizon):
        return label
    if evidence is None:
        return _("%(status)s according to undated sources") % {"status": label}
    return _("%(status)s according to the latest source (%(date)s)") % {
        "status": label,
        "date": dates.render_date(evidence.isoformat()),
    }


# An agreement's state, derived from its own dates, its term and the events citing it.
AGREEMENT_PLANNED, IN_FORCE, AGREEMENT_ENDING, AGREEMENT_ENDED, AGREEMENT_TERMINATED = (
    "planned",
    "in_force",
    "ending",
    "ended",
    "terminated",
)
# In their own context: an agreement "terminated" is "opgezegd", not the event kind "beëindigd".
AGREEMENT_STATE_LABELS = {
    AGREEMENT_PLANNED: pgettext_lazy("agreement state", "planned"),
    IN_FORCE: pgettext_lazy("agreement state", "in force"),
    AGREEMENT_ENDING: pgettext_lazy("agreement state", "ending"),
    AGREEMENT_ENDED: pgettext_lazy("agreement state", "ended"),
    AGREEMENT_TERMINATED: pgettext_lazy("agreement state", "terminated"),
    UNKNOWN: pgettext_lazy("agreement state", "unknown"),
}
# The states that say something about today, and so rest on the newest evidence.
NOW_AGREEMENT_STATES = frozenset({AGREEMENT_PLANNED, IN_FORCE, AGREEMENT_ENDING})


def agreement_ending_days() -> int:
    """How close a term end must be for an agreement in force to read "ending" (days)."""
    from django.conf import settings

    return settings.PORTAL_AGREEMENT_ENDING_DAYS


def agreement_state(
    *,
    signed: dates.FuzzyDate,
    term_end: datetime.date | None,
    events: Iterable[EventFacts],
    evidence: datetime.date | None,
    today: datetime.date,
    window: int | None = None,
    horizon: int | None = None,
) -> str:
    """The state of an agreement today, from what the sources say:

    - terminated: an event citing it says it was terminated (or its termination decided) and happened;
    - ended: its term ended before today;
    - planned: it has no date of signing and no signing that happened, but a plan cites it;
    - ending: signed, and its term ends within the window (`PORTAL_AGREEMENT_ENDING_DAYS`);
    - in force: signed (its own date, or a signing, renewal or amendment that happened);
    - unknown: none of these, or a "now" state resting on evidence older than the horizon.

    `events` are the events citing the agreement that the audience may see; `evidence` is the newest
    evidence about its partnership for that audience (`last_evidence`).
    """
    events = list(events)
    window = agreement_ending_days() if window is None else window
    happened = [f for f in events if f.status == HAPPENED]
    if any(f.kind in TERMINATION_KINDS for f in happened):
        return AGREEMENT_TERMINATED
    if term_end is not None and term_end < today:
        return AGREEMENT_ENDED
    is_signed = signed.lower is not None or any(f.kind in START_KINDS | {"amended", "renewed"} for f in happened)
    if is_signed:
        state = AGREEMENT_ENDING if term_end is not None and (term_end - today).days <= window else IN_FORCE
    elif any(f.status == PLANNED for f in events):
        state = AGREEMENT_PLANNED
    else:
        return UNKNOWN
    # A term end still ahead is the agreement's own word for today; otherwise old evidence says only
    # what was so then.
    if term_end is None and is_stale(evidence, today, horizon):
        return UNKNOWN if state != AGREEMENT_PLANNED else state
    return state


def agreement_state_label(state: str, evidence: datetime.date | None, today: datetime.date) -> str:
    """An agreement's state in words, qualified like a partnership's status: a state about today
    (planned, in force, ending) on evidence older than the horizon says how old that evidence is
    ("gepland volgens de laatste bron (27 oktober 2010)"), and "unknown" says since when."""
    label = str(AGREEMENT_STATE_LABELS[state])
    stale = is_stale(evidence, today)
    if state == UNKNOWN:
        if evidence is None:
            return _("unknown: no dated source")
        return _("unknown since the latest source (%(date)s)") % {"date": dates.render_date(evidence.isoformat())}
    if state not in NOW_AGREEMENT_STATES or not stale:
        return label
    if evidence is None:
        return _("%(status)s according to undated sources") % {"status": label}
    return _("%(status)s according to the latest source (%(date)s)") % {
        "status": label,
        "date": dates.render_date(evidence.isoformat()),
    }


@dataclass(frozen=True)
class MembershipPeriod:
    """A derived membership as the parties of an agreement need it (from `Membership` rows)."""

    municipality: object
    state: str
    start_lower: datetime.date | None
    end_upper: datetime.date | None


def agreement_parties(
    *, signed: dates.FuzzyDate, events: Iterable[EventFacts], memberships: Iterable[MembershipPeriod]
) -> list:
    """The parties to an agreement, from what this audience sees:

    - the municipalities of a signing (or joining, or start of cooperation) citing it that happened;
    - else, when its date of signing is known, the members of the partnership on that date (a
      membership that may overlap the date's range);
    - else (an intended agreement) the municipalities of the events citing it, planned ones included.

    `events` carry the municipality objects themselves in `municipalities`; the result keeps them,
    each once, in the order first met."""
    events = list(events)
    found: dict = {}

    def add(municipalities) -> None:
        for municipality in municipalities:
            found.setdefault(getattr(municipality, "pk", municipality), municipality)

    for facts in events:
        if facts.status == HAPPENED and facts.kind in START_KINDS:
            add(facts.municipalities)
    if not found and signed.lower is not None:
        add(
            m.municipality
            for m in memberships
            if m.state != "planned"
            and (m.start_lower is None or m.start_lower <= signed.upper)
            and (m.end_upper is None or m.end_upper >= signed.lower)
        )
    if not found:
        for facts in events:
            add(facts.municipalities)
    return list(found.values())


def event_status_words(status: str, date: dates.FuzzyDate, today: datetime.date) -> str:
    """The status of an event in words, for every place an event is listed ("" when it happened).

    A plan whose whole date range has passed without confirmation says so:
    "gepland voor december 2021, niet bevestigd".
    """
    if status == ABANDONED:
        return _("abandoned")
    if status != PLANNED:
        return ""
    if date.upper is not None and date.upper < today:
        return _("planned for %(date)s, not confirmed") % {"date": dates.render_date(date.text)}
    return _("planned")


def check_rules(events: Sequence[EventFacts], partnership_name: str) -> list[RuleViolation]:
    """The domain rules, checked over the whole set of a partnership's events.

    - only a member can withdraw or be disentangled;
    - a disentanglement follows a withdrawal or a termination;
    - no event for a municipality after it ceased to exist (merged).
    Each message names the municipality, the partnership and the date.
    """
    violations: list[RuleViolation] = []
    live = [facts for facts in events if facts.status != ABANDONED]
    for facts in ordered(events):
        when = _render_lazily(facts.date.text)  # only a message needs the words; most events have none
        for ref in facts.municipalities:
            params = {"municipality": ref.name, "partnership": partnership_name, "date": when}
            if ref.existed_until and facts.date.lower and facts.date.lower > ref.existed_until:
                violations.append(
                    RuleViolation(
                        facts.key,
                        "municipality_ceased",
                        _(
                            "%(municipality)s ceased to exist on %(ended)s%(successor)s, so it can have no "
                            "event in %(partnership)s on %(date)s."
                        )
                        % {
                            **params,
                            "ended": dates.render_date(ref.existed_until.isoformat()),
                            "successor": (
                                _(" (merged into %(name)s)") % {"name": ref.successor_name}
                                if ref.successor_name
                                else ""
                            ),
                        },
                    )
                )
            if facts.kind not in MEMBER_ONLY_KINDS or facts.status == ABANDONED:
                continue
            is_member = any(
                other.kind in START_KINDS
                and any(m.pk == ref.pk for m in other.municipalities)
                and _may_precede(other.date, facts.date)
                for other in live
            )
            if not is_member:
                violations.append(
                    RuleViolation(
                        facts.key,
                        "not_a_member",
                        _(
                            "%(municipality)s is not a member of %(partnership)s on %(date)s, so it cannot "
                            "have “%(kind)s” there. Record its signing or joining first."
                        )
                        % {**params, "kind": kind_label(facts.kind)},
                    )
                )
                continue
            if facts.kind in DISENTANGLEMENT_KINDS:
                follows = any(
                    (
                        (other.kind in WITHDRAWAL_KINDS and any(m.pk == ref.pk for m in other.municipalities))
                        or other.kind in TERMINATION_KINDS
                    )
                    and _may_precede(other.date, facts.date)
                    for other in live
                )
                if not follows:
                    violations.append(
                        RuleViolation(
                            facts.key,
                            "disentanglement_without_exit",
                            _(
                                "The disentanglement of %(municipality)s from %(partnership)s on %(date)s must "
                                "follow a withdrawal or a termination; record that decision first."
                            )
                            % params,
                        )
                    )
    return violations


_render_lazily = lazy(dates.render_date, str)


def kind_label(kind: str) -> str:
    return str(KIND_LABELS[kind])


# --- Reading aids: the status sentence and the membership chart -------------


def _when(date: dates.FuzzyDate) -> str:
    """'op 16 april 2013', 'in najaar 2016', or '' when unknown."""
    if not date.text:
        return ""
    words = dates.render_date(date.text)
    if date.precision == dates.Precision.DAY and "/" not in date.text and date.text[-1].isdigit():
        return _("on %(date)s") % {"date": words}
    return _("in %(date)s") % {"date": words}


def _names(refs: Sequence[MunicipalityRef]) -> str:
    names = [ref.name for ref in refs]
    if len(names) <= 1:
        return "".join(names)
    return _("%(first)s and %(last)s") % {"first": ", ".join(names[:-1]), "last": names[-1]}


def status_sentence(
    events: Sequence[EventFacts],
    memberships: Sequence[Membership] | None = None,
    *,
    evidence: datetime.date | None = None,
    today: datetime.date | None = None,
    horizon: int | None = None,
) -> str:
    """One sentence, written from the events, that says where the partnership stands.

    E.g. "Signed on 16 April 2013 by Schiedam, Vlaardingen and Maassluis; Maassluis
    left in autumn 2016 – 2017; Schiedam decided in 2019 to terminate it."
    Given `today`, a status that speaks of now ends by saying how old its evidence is
    when that is older than the horizon.
    """
    if memberships is None:
        memberships = derive_memberships(events)
    chronological = [facts for facts in ordered(events) if facts.status == HAPPENED]
    clauses: list[str] = []
    start = next((f for f in chronological if f.kind == "signed"), None) or next(
        (f for f in chronological if f.kind in START_KINDS), None
    )
    if start is None:
        planned = next((f for f in ordered(events) if f.kind in START_KINDS and f.status == PLANNED), None)
        if planned is None:
            return _("No start of this partnership has been recorded yet.")
        clauses.append(
            _("Planned to start %(when)s with %(names)s")
            % {"when": _when(planned.date) or _("at a date not yet known"), "names": _names(planned.municipalities)}
        )
    else:
        template = _("Signed %(when)s by %(names)s") if start.kind == "signed" else _("Started %(when)s by %(names)s")
        clauses.append(template % {"when": _when(start.date), "names": _names(start.municipalities)})
    for membership in memberships:
        if membership.start_event is not start and membership.start_event.kind == "joined":
            clauses.append(
                _("%(name)s joined %(when)s") % {"name": membership.municipality.name, "when": _when(membership.start)}
            )
        if membership.state == "ended" and membership.ended_by == "withdrawn":
            clauses.append(
                _("%(name)s left %(when)s") % {"name": membership.municipality.name, "when": _when(membership.end)}
            )
        elif membership.decision is not None and membership.state == "leaving":
            clauses.append(
                _("%(name)s decided %(when)s to withdraw")
                % {"name": membership.municipality.name, "when": _when(membership.decision.date)}
            )
    for facts in chronological:
        if facts.kind == "termination_decided":
            count = len(facts.municipalities) or 2  # "the partners" is plural
            clauses.append(
                ngettext(
                    "%(names)s decided %(when)s to terminate it",
                    "%(names)s decided %(when)s to terminate it",
                    count,
                )
                % {"names": _names(facts.municipalities) or _("the partners"), "when": _when(facts.date)}
            )
        elif facts.kind in ("terminated", "dissolved"):
            template = _("it was terminated %(when)s") if facts.kind == "terminated" else _("it was dissolved %(when)s")
            clauses.append(template % {"when": _when(facts.date)})
    if today is not None and current_status(derive_status(events, memberships), evidence, today, horizon) == UNKNOWN:
        if evidence is None:
            clauses.append(_("no dated source is recorded, so whether this still holds is not known"))
        else:
            clauses.append(
                _("the latest source dates from %(date)s; whether this still holds is not recorded")
                % {"date": dates.render_date(evidence.isoformat())}
            )
    sentence = "; ".join(clause.replace("  ", " ").strip() for clause in clauses)
    return sentence[0].upper() + sentence[1:] + "."
