"""Integrity in the database, whatever the code path."""

import pytest
from django.db import DataError, IntegrityError, transaction

from cooperation.models import Event, Municipality, Partnership, Pillar, Source


def refused(callable_):
    with pytest.raises((IntegrityError, DataError)), transaction.atomic():
        callable_()


def test_pillars_are_the_four_fixed_codes(db):
    assert list(Pillar.objects.values_list("code", flat=True)) == [
        "knowledge_sharing",
        "architecture_alignment",
        "joint_procurement",
        "service_modernisation",
    ]
    assert Pillar.objects.get(code="joint_procurement").name_nl == "Gezamenlijke inkoop"


@pytest.mark.parametrize("code", ["GM123", "gm0935", "XX0935", "GM09355", "GM 935"])
def test_database_refuses_malformed_cbs_codes(db, code):
    refused(lambda: Municipality.objects.create(cbs_code=code, name="Nergenshuizen", slug=f"n-{code}"))


def test_database_refuses_duplicate_cbs_code_and_slug(db):
    refused(lambda: Municipality.objects.create(cbs_code="GM0935", name="Maastricht 2", slug="maastricht-2"))
    refused(lambda: Municipality.objects.create(cbs_code="GM9999", name="Maastricht", slug="maastricht"))
    refused(lambda: Partnership.objects.create(name="Dubbel", slug="schiedam-vlaardingen-maassluis-ict"))


def test_database_refuses_date_bounds_in_the_wrong_order(svm):
    event = svm.events.first()
    refused(lambda: Event.objects.filter(pk=event.pk).update(date_lower="2020-01-01", date_upper="2019-01-01"))


def test_database_refuses_two_sources_with_one_url(db):
    Source.objects.create(url="https://example.org/a", title="A")
    refused(lambda: Source.objects.create(url="https://example.org/a", title="B"))
    # Sources without a URL (an article we only have as text) may coexist.
    Source.objects.create(title="C")
    Source.objects.create(title="D")


def test_saving_derives_the_bounds_from_the_text(svm):
    event = svm.events.get(kind="withdrawal_decided")
    assert (event.date_lower.isoformat(), event.date_upper.isoformat(), event.date_precision) == (
        "2016-09-01",
        "2016-11-30",
        "season",
    )


def test_municipality_has_its_tooi_identifier(db):
    assert (
        Municipality.objects.get(cbs_code="GM0935").tooi_uri == "https://identifier.overheid.nl/tooi/id/gemeente/gm0935"
    )
