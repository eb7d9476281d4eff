"""Memberships, status and domain rules derived from events."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from cooperation import services, timeline
from cooperation.dates import parse_date
from cooperation.models import Event, Membership

D = datetime.date


def facts(key, kind, date_text, *municipalities, status="happened"):
    refs = tuple(timeline.MunicipalityRef(pk=pk, name=name) for pk, name in municipalities)
    return timeline.EventFacts(key=key, kind=kind, status=status, date=parse_date(date_text), municipalities=refs)


A, B, C = (1, "Amsterdam"), (2, "Breda"), (3, "Cuijk")


def by_name(memberships):
    return {m.municipality.name: m for m in memberships}


class TestSeedCases:
    def test_maassluis_left_between_its_decision_and_its_disentanglement(self, svm):
        facts_list = [timeline.facts_from_event(e) for e in svm.events.prefetch_related("municipalities")]
        maassluis = by_name(timeline.derive_memberships(facts_list))["Maassluis"]
        assert maassluis.start.lower == D(2013, 4, 16)
        assert maassluis.decision.date.text == "2016-23"
        assert maassluis.exit is None  # the articles give no exit date, so none is invented
        assert maassluis.disentanglement.date.text == "2017"
        assert maassluis.state == "ended"
        assert maassluis.ended_by == "withdrawn"
        # The end stays honestly vague: from autumn 2016 at the earliest to 2017 at the latest.
        assert (maassluis.end.lower, maassluis.end.upper) == (D(2016, 9, 1), D(2017, 12, 31))

    def test_schiedam_and_vlaardingen_are_leaving_after_the_termination_decision(self, svm):
        facts_list = [timeline.facts_from_event(e) for e in svm.events.prefetch_related("municipalities")]
        memberships = by_name(timeline.derive_memberships(facts_list))
        for name in ("Schiedam", "Vlaardingen"):
            assert memberships[name].state == "leaving"
            assert memberships[name].termination.date.text == "2019"
            assert memberships[name].end is None

    def test_status_is_never_active_after_the_termination_decision(self, svm):
        facts_list = [timeline.facts_from_event(e) for e in svm.events.prefetch_related("municipalities")]
        assert timeline.derive_status(facts_list) == "ending"
        assert svm.status == "ending"

    def test_maastricht_sittard_geleen_is_a_member_since_the_signing_not_the_precursor(self, msg):
        # The 2009 cooperation on hiring ICT providers is the precursor; the agreement of 2010 starts it.
        rows = {m.municipality.name: m for m in msg.memberships.for_audience(False).select_related("municipality")}
        assert set(rows) == {"Maastricht", "Sittard-Geleen"}
        assert all(row.state == "active" and row.start_text == "2010-10-27" for row in rows.values())
        assert msg.status == "active"
        # Its only source is the press release of that day.
        assert msg.last_evidence == D(2010, 10, 27)

    def test_cached_memberships_match_the_derivation(self, svm):
        rows = {m.municipality.name: m for m in svm.memberships.for_audience(False).select_related("municipality")}
        assert rows["Maassluis"].state == Membership.State.ENDED
        assert rows["Maassluis"].end_text == "2016-23/2017"
        with translation.override("nl"):
            assert rows["Maassluis"].end_in_words == "najaar 2016 – 2017"
        assert rows["Schiedam"].state == Membership.State.LEAVING

    def test_timeline_is_chronological_with_undated_plans_last(self, svm):
        ordered = timeline.ordered(timeline.facts_from_event(e) for e in svm.events.prefetch_related("municipalities"))
        kinds = [f.kind for f in ordered]
        assert kinds[0] == "signed"
        assert kinds.index("withdrawal_decided") < kinds.index("disentangled") < kinds.index("termination_decided")
        assert kinds[-2:] == ["disentanglement_started", "costs_settled"]


class TestDerivations:
    def test_exit_date_ends_the_membership(self):
        memberships = timeline.derive_memberships(
            [
                facts(1, "signed", "2010", A, B),
                facts(2, "withdrawal_decided", "2012-03", B),
                facts(3, "withdrawn", "2013-01-01", B),
            ]
        )
        breda = by_name(memberships)["Breda"]
        assert (breda.state, breda.end.text, breda.ended_by) == ("ended", "2013-01-01", "withdrawn")
        assert by_name(memberships)["Amsterdam"].state == "active"

    def test_abandoned_withdrawal_changes_nothing(self):
        memberships = timeline.derive_memberships(
            [facts(1, "signed", "2010", A, B), facts(2, "withdrawal_decided", "2012", B, status="abandoned")]
        )
        assert by_name(memberships)["Breda"].state == "active"

    def test_termination_ends_every_membership(self):
        events = [facts(1, "signed", "2010", A, B), facts(2, "joined", "2011", C), facts(3, "terminated", "2015-06", A)]
        memberships = timeline.derive_memberships(events)
        assert {m.state for m in memberships} == {"ended"}
        assert timeline.derive_status(events) == "ended"

    def test_partnership_with_only_plans_is_planned(self):
        events = [facts(1, "signed", "2027", A, B, status="planned")]
        assert timeline.derive_status(events) == "planned"

    def test_planned_start_becomes_active_when_it_happens(self):
        memberships = timeline.derive_memberships(
            [facts(1, "signed", "2020", A, status="planned"), facts(2, "signed", "2021-02-03", A)]
        )
        assert memberships[0].state == "active" and memberships[0].start.text == "2021-02-03"


# Every leaving path: (events after the signing of A and B in 2010, then B's expected
# decision, exit and disentanglement dates (None: no such step), its state and how it ended).
LEAVING_PATHS = {
    "decision only": ([("withdrawal_decided", "2012-03", "happened", B)], ("2012-03", None, None, "leaving", "")),
    "decision + exit": (
        [("withdrawal_decided", "2012-03", "happened", B), ("withdrawn", "2013-01-01", "happened", B)],
        ("2012-03", "2013-01-01", None, "ended", "withdrawn"),
    ),
    "decision + exit + disentanglement": (
        [
            ("withdrawal_decided", "2012-03", "happened", B),
            ("withdrawn", "2013-01-01", "happened", B),
            ("disentangled", "2014", "happened", B),
        ],
        ("2012-03", "2013-01-01", "2014", "ended", "withdrawn"),
    ),
    "exit + disentanglement": (
        [("withdrawn", "2013-01-01", "happened", B), ("disentangled", "2014", "happened", B)],
        (None, "2013-01-01", "2014", "ended", "withdrawn"),
    ),
    "termination by the partnership, then disentanglement": (
        [
            ("termination_decided", "2015", "happened", A),
            ("terminated", "2016-01-01", "happened", None),
            ("disentangled", "2016-23", "happened", B),
        ],
        (None, "2016-01-01", "2016-23", "ended", "terminated"),
    ),
    "vague decision, exit and disentanglement": (
        [
            ("withdrawal_decided", "2012-23", "happened", B),
            ("withdrawn", "2013~", "happened", B),
            ("disentangled", "2013", "happened", B),
        ],
        ("2012-23", "2013~", "2013", "ended", "withdrawn"),
    ),
    "undated decision recorded with dated exit": (
        [("withdrawn", "2013-01-01", "happened", B), ("withdrawal_decided", "", "happened", B)],
        ("", "2013-01-01", None, "ended", "withdrawn"),
    ),
    "undated disentanglement after the exit": (
        [
            ("withdrawal_decided", "2012", "happened", B),
            ("withdrawn", "2013", "happened", B),
            ("disentangled", "", "happened", B),
        ],
        ("2012", "2013", "", "ended", "withdrawn"),
    ),
    "planned exit": (
        [("withdrawal_decided", "2012", "happened", B), ("withdrawn", "2030", "planned", B)],
        ("2012", "2030", None, "leaving", "withdrawn"),
    ),
    "exit, then planned disentanglement": (
        [
            ("withdrawal_decided", "2012", "happened", B),
            ("withdrawn", "2013", "happened", B),
            ("disentanglement_started", "", "planned", B),
        ],
        ("2012", "2013", "", "ended", "withdrawn"),
    ),
    "planned decision, then the decision": (
        [("withdrawal_decided", "2012", "planned", B), ("withdrawal_decided", "2012-06", "happened", B)],
        ("2012-06", None, None, "leaving", ""),
    ),
    "decision and disentanglement, no exit": (
        [("withdrawal_decided", "2016-23", "happened", B), ("disentangled", "2017", "happened", B)],
        ("2016-23", None, "2017", "ended", "withdrawn"),
    ),
}


class TestLeavingPaths:
    @pytest.mark.parametrize("path", LEAVING_PATHS, ids=list(LEAVING_PATHS))
    def test_each_step_keeps_its_own_date(self, path):
        steps, (decision, exit_, disentanglement, state, ended_by) = LEAVING_PATHS[path]
        events = [facts(1, "signed", "2010", A, B)]
        for number, (kind, date_text, status, who) in enumerate(steps, start=2):
            events.append(facts(number, kind, date_text, *([who] if who else []), status=status))
        breda = by_name(timeline.derive_memberships(events))["Breda"]
        assert (breda.decision.date.text if breda.decision else None) == decision
        assert (breda.exit.date.text if breda.exit else None) == exit_
        assert (breda.disentanglement.date.text if breda.disentanglement else None) == disentanglement
        assert (breda.state, breda.ended_by) == (state, ended_by)

    def test_steps_in_any_order_of_recording_give_the_same_membership(self):
        steps = [
            facts(2, "withdrawal_decided", "2012-03", B),
            facts(3, "withdrawn", "2013-01-01", B),
            facts(4, "disentangled", "2014", B),
        ]
        signed = facts(1, "signed", "2010", A, B)
        first = by_name(timeline.derive_memberships([signed, *steps]))["Breda"]
        last = by_name(timeline.derive_memberships([*reversed(steps), signed]))["Breda"]
        assert (first.decision, first.exit, first.disentanglement) == (last.decision, last.exit, last.disentanglement)

    def test_a_member_that_left_before_the_termination_keeps_its_own_end(self):
        events = [
            facts(1, "signed", "2010", A, B),
            facts(2, "withdrawn", "2012", B),
            facts(3, "terminated", "2015", A),
        ]
        breda = by_name(timeline.derive_memberships(events))["Breda"]
        assert (breda.end.text, breda.ended_by) == ("2012", "withdrawn")

    def test_termination_decided_by_one_member_is_the_others_fate(self, svm):
        facts_list = [timeline.facts_from_event(e) for e in svm.events.prefetch_related("municipalities")]
        memberships = by_name(timeline.derive_memberships(facts_list))
        assert memberships["Schiedam"].termination_decided_by_others == ""
        assert memberships["Vlaardingen"].termination_decided_by_others == "Schiedam"


class TestEvidence:
    def test_latest_evidence_is_the_latest_happened_event_source_or_verification(self):
        events = [facts(1, "signed", "2010-10-27", A), facts(2, "tender_launched", "2012", A, status="planned")]
        assert timeline.last_evidence(events) == D(2010, 10, 27)
        assert timeline.last_evidence(events, [D(2011, 1, 5), None]) == D(2011, 1, 5)
        assert timeline.last_evidence(events, [D(2011, 1, 5)], [D(2024, 2, 1)]) == D(2024, 2, 1)
        # A vague date claims no more than its first day.
        assert timeline.last_evidence([facts(1, "signed", "2019", A)]) == D(2019, 1, 1)

    @pytest.mark.parametrize(
        ("status", "evidence", "expected"),
        [
            ("active", D(2010, 10, 27), "unknown"),
            ("active", D(2025, 6, 1), "active"),
            ("active", None, "unknown"),
            ("ending", D(2019, 5, 8), "unknown"),
            ("ended", D(2010, 1, 1), "ended"),
        ],
    )
    def test_a_now_status_on_old_evidence_is_unknown(self, status, evidence, expected):
        assert timeline.current_status(status, evidence, D(2026, 12, 1), horizon=730) == expected

    def test_the_horizon_is_a_setting(self, settings):
        settings.PORTAL_EVIDENCE_HORIZON_DAYS = 365 * 20
        assert timeline.current_status("active", D(2010, 10, 27), D(2026, 12, 1)) == "active"

    def test_a_qualified_label_says_how_old_its_evidence_is(self):
        with translation.override("nl"):
            assert (
                timeline.as_of("actief", "active", D(2010, 10, 27), D(2026, 12, 1), horizon=730)
                == "actief volgens de laatste bron (27 oktober 2010)"
            )
            assert timeline.as_of("actief", "active", D(2026, 1, 1), D(2026, 12, 1), horizon=730) == "actief"
            assert timeline.as_of("uitgetreden", "ended", D(2010, 1, 1), D(2026, 12, 1), horizon=730) == "uitgetreden"

    @pytest.mark.parametrize(
        ("status", "date_text", "nl", "en"),
        [
            ("happened", "2019", "", ""),
            ("abandoned", "2019", "afgeblazen", "abandoned"),
            ("planned", "", "gepland", "planned"),
            ("planned", "2030-06", "gepland", "planned"),
            (
                "planned",
                "2021-12",
                "gepland voor december 2021, niet bevestigd",
                "planned for December 2021, not confirmed",
            ),
        ],
    )
    def test_event_status_in_words(self, status, date_text, nl, en):
        for language, expected in (("nl", nl), ("en", en)):
            with translation.override(language):
                assert timeline.event_status_words(status, parse_date(date_text), D(2026, 12, 1)) == expected


class TestRules:
    def test_withdrawal_by_non_member_is_refused(self):
        problems = timeline.check_rules([facts(1, "signed", "2010", A), facts(2, "withdrawal_decided", "2012", B)], "X")
        assert [p.code for p in problems] == ["not_a_member"]
        with translation.override("nl"):
            problems = timeline.check_rules(
                [facts(1, "signed", "2010", A), facts(2, "withdrawal_decided", "2012", B)], "Samenwerking X"
            )
        assert (
            "Breda" in problems[0].message and "Samenwerking X" in problems[0].message and "2012" in problems[0].message
        )

    def test_withdrawal_before_joining_is_refused(self):
        problems = timeline.check_rules([facts(1, "signed", "2015", A), facts(2, "withdrawn", "2012", A)], "X")
        assert [p.code for p in problems] == ["not_a_member"]

    def test_disentanglement_must_follow_withdrawal_or_termination(self):
        events = [facts(1, "signed", "2010", A, B), facts(2, "disentangled", "2012", B)]
        problems = timeline.check_rules(events, "X")
        assert [p.code for p in problems] == ["disentanglement_without_exit"]
        assert "Breda" in problems[0].message and "X" in problems[0].message
        events.append(facts(3, "termination_decided", "2011", A))
        assert timeline.check_rules(events, "X") == []

    def test_event_after_a_municipality_ceased_to_exist_is_refused(self):
        merged = timeline.MunicipalityRef(
            pk=9, name="Geleen", existed_until=D(2000, 12, 31), successor_name="Sittard-Geleen"
        )
        event = timeline.EventFacts(
            key=1, kind="signed", status="happened", date=parse_date("2005"), municipalities=(merged,)
        )
        with translation.override("en"):
            problems = timeline.check_rules([event], "Westelijke Mijnstreek")
        assert [p.code for p in problems] == ["municipality_ceased"]
        message = problems[0].message
        assert "Geleen" in message and "Sittard-Geleen" in message and "Westelijke Mijnstreek" in message
        assert "2005" in message and "31 December 2000" in message

    def test_vague_dates_are_given_the_benefit_of_the_doubt(self):
        # A withdrawal in 2013 and a signing in 2013: the signing may have come first.
        assert timeline.check_rules([facts(1, "signed", "2013", A), facts(2, "withdrawn", "2013-02", A)], "X") == []


class TestRulesInModelClean:
    def test_clean_refuses_withdrawal_by_non_member_with_names(self, msg, municipality):
        event = Event(partnership=msg, kind=Event.Kind.WITHDRAWAL_DECIDED, date_text="2012")
        event.pending_municipalities = [municipality("Schiedam")]
        with translation.override("nl"), pytest.raises(ValidationError) as caught:
            event.full_clean()
        message = " ".join(caught.value.messages)
        assert "Schiedam" in message and msg.name in message and "2012" in message

    def test_clean_refuses_event_of_merged_municipality(self, msg, municipality):
        event = Event(partnership=msg, kind=Event.Kind.JOINED, date_text="2011")
        event.pending_municipalities = [municipality("GM0906")]  # Geleen, merged into Sittard-Geleen in 2001
        with pytest.raises(ValidationError) as caught:
            event.full_clean()
        assert "Geleen" in " ".join(caught.value.messages)

    def test_service_records_a_valid_withdrawal_and_rebuilds_the_cache(self, msg, municipality):
        services.event_record(
            partnership=msg, kind="withdrawn", date_text="2014-01-01", municipalities=[municipality("Maastricht")]
        )
        row = msg.memberships.for_audience(False).get(municipality__name="Maastricht")
        assert (row.state, row.end_text) == ("ended", "2014-01-01")

    def test_service_refuses_disentanglement_without_withdrawal(self, msg, municipality):
        with pytest.raises(ValidationError):
            services.event_record(
                partnership=msg, kind="disentangled", date_text="2014", municipalities=[municipality("Maastricht")]
            )
        assert not msg.events.filter(kind="disentangled").exists()


class TestChartAsOfTheEvidence:
    def test_solid_bar_stops_at_the_latest_evidence_and_continues_as_unknown(self):
        from cooperation import chart

        events = [facts(1, "signed", "2010-10-27", A, B)]
        memberships = timeline.derive_memberships(events)
        today = D(2026, 12, 1)
        with translation.override("nl"):
            drawn = chart.chart(events, memberships, today, evidence=D(2010, 10, 27), horizon=730)
        lane = drawn.lanes[0]
        assert lane.solid[1] < 3  # from the signing to the evidence: the same day
        assert lane.unknown is not None and lane.unknown[0] == lane.solid[0] + lane.solid[1]
        assert lane.unknown_title == "onbekend sinds 27 oktober 2010"
        recent = chart.chart(events, memberships, today, evidence=D(2026, 6, 1), horizon=730)
        assert recent.lanes[0].unknown is None and recent.lanes[0].solid[1] > 600
