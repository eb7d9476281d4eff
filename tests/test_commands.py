import datetime

from django.core.management import call_command

from cooperation.models import Event, Municipality, Partnership, Person, Source


def test_reference_data_has_current_and_former_municipalities(db):
    assert Municipality.objects.current().count() == 342
    assert Municipality.objects.count() == 342 + 1130
    geleen = Municipality.objects.get(cbs_code="GM0906")
    assert geleen.existed_until == datetime.date(2000, 12, 31)
    assert geleen.merged_into.cbs_code == "GM1883"
    assert geleen.province == "Limburg"  # the province of its successor
    assert Municipality.objects.get(cbs_code="GM1900").name == "Súdwest-Fryslân"


def test_loading_twice_changes_nothing(db, capsys):
    before = {model: model.objects.count() for model in (Municipality, Partnership, Event, Source, Person)}
    history_before = Event.history.count()
    call_command("load_municipalities")
    call_command("load_demo")
    out = capsys.readouterr().out
    assert "0 created, 0 updated, 0 successor links set" in out
    assert "0 partnerships and 0 events created" in out
    assert {model: model.objects.count() for model in before} == before
    assert Event.history.count() == history_before


def test_demo_holds_every_event_the_articles_report(svm, msg):
    assert msg.events.count() == 4
    assert svm.events.count() == 8
    tender = msg.events.get(kind="tender_launched")
    assert (tender.status, tender.date_text) == ("planned", "2010-12~")
    organisation = svm.events.get(status="abandoned")
    assert "gemeenschappelijke regeling" in organisation.description
    costs = svm.events.get(kind="costs_settled")
    assert costs.cost_eur is None and "Nog te bepalen" in costs.cost_note
    signing = msg.events.get(kind="signed")
    assert {(p.person.name, p.role) for p in signing.participants.all()} == {
        ("Jim Janssen", "alderman"),
        ("Pieter Meekels", "alderman"),
    }
    assert all(event.sources.exists() for event in Event.objects.all())
