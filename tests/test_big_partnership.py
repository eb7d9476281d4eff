"""A partnership with thousands of events (one big import) stays usable in the admin."""

import time

import pytest
from django.urls import reverse

from cooperation import services
from cooperation.models import Event, Partnership

BIG = 5000


def with_events(partnership: Partnership, count: int) -> Partnership:
    Event.objects.bulk_create(
        Event(partnership=partnership, kind="evaluated", date_text="2015", title=f"Evaluatie {n}") for n in range(count)
    )
    services.partnerships_changed(partnership_ids=[partnership.pk])
    return partnership


@pytest.fixture
def big(db):
    return with_events(Partnership.objects.create(name="Groot verband", slug="groot-verband"), BIG)


@pytest.fixture
def fairly_big(db, settings):
    return with_events(
        Partnership.objects.create(name="Middelgroot", slug="middelgroot"), settings.ADMIN_EVENT_INLINE_LIMIT + 1
    )


def change_page(client, partnership):
    return client.get(reverse("admin:cooperation_partnership_change", args=[partnership.pk]))


def test_a_big_partnership_opens_in_the_admin_quickly_with_a_link_to_its_events(admin_client, big):
    change_page(admin_client, big)  # warm up: templates, translations
    started = time.monotonic()
    response = change_page(admin_client, big)
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert elapsed < 2, f"{elapsed:.2f} s"
    assert len(response.content) < 200_000
    assert all(formset.opts.model is not Event for formset in response.context["inline_admin_formsets"])
    content = response.content.decode()
    assert f"{BIG} gebeurtenissen: te veel om op deze pagina te bewerken." in content
    assert f"?partnership__id__exact={big.pk}" in content


def test_its_query_count_does_not_grow_with_its_events(admin_client, big, fairly_big, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small_run:
        change_page(admin_client, fairly_big)
    with django_assert_max_num_queries(len(small_run)):
        change_page(admin_client, big)


def test_the_event_list_of_a_big_partnership_is_paginated_and_filtered(admin_client, big):
    url = reverse("admin:cooperation_event_changelist") + f"?partnership__id__exact={big.pk}"
    response = admin_client.get(url)
    assert response.status_code == 200
    changelist = response.context["cl"]
    assert changelist.result_count == BIG and len(changelist.result_list) == changelist.list_per_page


def test_a_small_partnership_keeps_its_events_inline(admin_client, svm):
    response = change_page(admin_client, svm)
    assert any(formset.opts.model is Event for formset in response.context["inline_admin_formsets"])
    assert f"{svm.events.count()} gebeurtenissen, hieronder." in response.content.decode()
