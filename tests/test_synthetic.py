"""Synthetic data: deterministic, obeys every domain rule, clearly marked, removable alone."""

import pytest
from django.core.management import call_command

from cooperation import services, synthetic, timeline
from cooperation.models import Event, Membership, Municipality, Partnership, Person, Source, Subscription

pytestmark = pytest.mark.django_db

COUNT = 12


def snapshot() -> list[tuple]:
    """The generated content, without database ids or timestamps."""
    events = Event.objects.filter(partnership__is_synthetic=True).prefetch_related("municipalities", "sources")
    return sorted(
        (
            str(event.uid),
            event.partnership.slug,
            event.kind,
            event.date_text,
            event.status,
            event.role,
            tuple(sorted(m.cbs_code for m in event.municipalities.all())),
            tuple(sorted(s.url for s in event.sources.all())),
        )
        for event in events.select_related("partnership")
    )


@pytest.fixture
def generated():
    return synthetic.generate(partnerships=COUNT, seed=7)


def test_same_seed_gives_the_same_data_and_another_seed_other_data(generated):
    first = snapshot()
    assert len(first) == generated["events"] > COUNT * 5
    synthetic.generate(partnerships=COUNT, seed=7)
    assert snapshot() == first
    synthetic.generate(partnerships=COUNT, seed=8)
    assert snapshot() != first


def test_every_generated_partnership_obeys_the_domain_rules(generated):
    for partnership in Partnership.objects.filter(is_synthetic=True):
        events = list(partnership.events.prefetch_related("municipalities__merged_into"))
        facts = [timeline.facts_from_event(event) for event in events]
        assert timeline.check_rules(facts, partnership.name) == [], partnership.slug


def test_derived_data_is_what_rebuild_derived_makes(generated):
    for partnership in Partnership.objects.filter(is_synthetic=True)[:4]:
        before = list(
            Membership.objects.for_audience(False)
            .filter(partnership=partnership)
            .values_list("municipality", "state", "end_text")
        )
        status = partnership.status
        services.partnerships_changed(partnership_ids=[partnership.pk])
        after = list(
            Membership.objects.for_audience(False)
            .filter(partnership=partnership)
            .values_list("municipality", "state", "end_text")
        )
        assert (after, partnership.status) == (before, status)


def test_data_respects_the_shape_of_the_register(generated):
    synthetic_ones = Partnership.objects.filter(is_synthetic=True)
    sizes = [p.memberships.for_audience(False).count() for p in synthetic_ones]
    assert max(sizes) == 25 and min(sizes) >= 2
    assert all(p.name.startswith("[synthetisch] ") and p.slug.startswith("synthetic-") for p in synthetic_ones)
    members = Municipality.objects.filter(memberships__partnership__is_synthetic=True).distinct()
    assert not members.filter(existed_until__isnull=False).exists()  # real, current municipalities
    events = Event.objects.filter(partnership__is_synthetic=True)
    kinds = set(events.values_list("kind", flat=True))
    assert {"signed", "joined", "withdrawal_decided", "withdrawn", "disentangled", "evaluated"} <= kinds
    precisions = set(events.values_list("date_precision", flat=True))
    assert {"day", "month", "season", "year", "interval", "unknown"} <= precisions
    assert set(events.values_list("status", flat=True)) == {"happened", "planned", "abandoned"}
    assert not events.filter(sources__isnull=True).exists()  # every event cites a source
    assert all(s.url.startswith("https://example.invalid/") for s in Source.objects.filter(is_synthetic=True))


def test_a_terminated_partnership_is_generated_in_a_large_enough_run():
    synthetic.generate(partnerships=60, seed=1)
    assert Event.objects.filter(partnership__is_synthetic=True, kind="terminated").exists()
    assert Partnership.objects.filter(is_synthetic=True, status="ended").exists()


def test_removal_removes_only_synthetic_data(generated, svm, admin_user):
    real = (Partnership.objects.filter(is_synthetic=False).count(), Event.objects.filter(partnership=svm).count())
    real_sources = Source.objects.filter(is_synthetic=False).count()
    follows = Subscription.objects.create(user=admin_user, partnership=Partnership.objects.filter(is_synthetic=True)[0])
    kept = Subscription.objects.create(user=admin_user, partnership=svm)
    call_command("remove_synthetic_data", verbosity=0)
    assert not Partnership.objects.filter(is_synthetic=True).exists()
    assert not Source.objects.filter(is_synthetic=True).exists()
    assert not Person.objects.filter(name__startswith="[synthetisch]").exists()
    assert not Subscription.objects.filter(pk=follows.pk).exists()
    assert Subscription.objects.filter(pk=kept.pk).exists()
    assert (Partnership.objects.count(), Event.objects.filter(partnership=svm).count()) == real
    assert Source.objects.count() == real_sources
    assert Membership.objects.for_audience(False).filter(partnership=svm).count() == 3


def test_command_generates_a_size_and_removes(capsys):
    call_command("generate_data", "--partnerships", "3", "--seed", "2")
    assert Partnership.objects.filter(is_synthetic=True).count() == 3
    call_command("generate_data", "--remove")
    assert not Partnership.objects.filter(is_synthetic=True).exists()
    assert "Removed synthetic data: 3 partnerships" in capsys.readouterr().out


def test_partnership_page_shows_a_synthetic_banner(client, generated, svm):
    flagship = Partnership.objects.get(slug="synthetic-7-0")
    page = client.get(flagship.get_absolute_url()).content.decode()
    assert "notice--synthetic" in page
    assert "notice--synthetic" not in client.get(svm.get_absolute_url()).content.decode()
