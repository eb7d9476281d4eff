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

    def test_maastricht_sittard_geleen_is_active_since_2009(self, msg):
        rows = {m.municipality.name: m for m in msg.memberships.for_audience(False).select_related("municipality")}
        assert set(rows) == {"Maastricht", "Sittard-Geleen"}
        assert all(row.state == "active" and row.start_text == "2009-10" for row in rows.values())
        assert msg.status == "active"

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
