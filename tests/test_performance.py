"""What keeps the portal fast must never make it wrong: cached fragments are never stale,
static files are compressed and cached for long, and the list's filters use their indexes.

Speed itself is measured by `make bench` (bench/run.py), not here.
"""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.staticfiles.storage import staticfiles_storage
from django.test import RequestFactory, override_settings

from cooperation import services
from cooperation.models import Event, Municipality, Participant, Partnership, Person, Pillar, Source

pytestmark = pytest.mark.django_db

SVM_URL = "/partnerships/schiedam-vlaardingen-maassluis-ict/"


def page(client, url=SVM_URL) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def cached_page(client, svm):
    """The SVM page, rendered once so that its fragments are in the cache."""
    first = page(client)
    assert page(client) == first
    return first


class TestCachedFragmentsAreNeverStale:
    def test_event_edited(self, client, cached_page, svm):
        event = svm.events.get(kind="signed")
        event.title = "Nieuwe titel van de ondertekening"
        services.event_save(event=event)
        assert "Nieuwe titel van de ondertekening" in page(client)

    def test_event_recorded_through_the_service(self, client, cached_page, svm, municipality):
        services.event_record(
            partnership=svm,
            kind="evaluated",
            date_text="2018-06",
            municipalities=[municipality("Schiedam")],
            title="Evaluatie na vijf jaar",
        )
        assert "Evaluatie na vijf jaar" in page(client)

    def test_event_deleted(self, client, cached_page, svm):
        event = svm.events.get(kind="signed")
        assert f"event-{event.uid}" in cached_page
        services.events_delete(events=[event])
        assert f"event-{event.uid}" not in page(client)

    def test_municipality_added_to_an_event(self, client, cached_page, svm, municipality):
        event = svm.events.filter(kind="evaluated").first() or svm.events.exclude(kind="signed").first()
        services.event_save(event=event, save_links=lambda: event.municipalities.add(municipality("Delft")))
        assert ">Delft</a>" in page(client)

    def test_source_title_changed(self, client, cached_page, svm):
        source = Source.objects.filter(events__partnership=svm).distinct().first()
        source.title = "Een andere kop boven het artikel"
        services.source_save(source=source)
        assert "Een andere kop boven het artikel" in page(client)

    def test_person_renamed(self, client, cached_page, svm):
        event = svm.events.get(kind="signed")
        person = services.person_save(person=Person(name="Wethouder Eerste Naam"))

        def add_participant():
            Participant.objects.create(event=event, person=person, role="alderman")

        services.event_save(event=event, save_links=add_participant)
        assert "Wethouder Eerste Naam" in page(client)
        person.name = "Wethouder Tweede Naam"
        services.person_save(person=person)
        assert "Wethouder Tweede Naam" in page(client)

    def test_municipality_renamed(self, client, cached_page):
        schiedam = Municipality.objects.get(cbs_code="GM0606")
        schiedam.name = "Schiedam aan de Schie"
        services.municipality_save(municipality=schiedam)
        assert "Schiedam aan de Schie" in page(client)

    def test_staff_and_public_get_their_own_fragments(self, client, cached_page, svm, municipality):
        event = svm.events.get(kind="signed")
        Event.objects.filter(pk=event.pk).update(visibility="internal")  # no signal: the key must still differ
        staff = get_user_model().objects.create_user("ambtenaar", password="x-very-long-pw-1", is_staff=True)
        client.force_login(staff)
        assert "badge--internal" in page(client)

    def test_other_language_is_its_own_fragment(self, client, cached_page):
        assert "Signed on 16 April 2013" in page(client, "/en" + SVM_URL)


class TestRegisterCachesAreNeverStale:
    """Home, the list, municipality and pillar pages and the API lists cache what they read across
    the register under `fragments.register_stamp(internal)`; every change must show at once."""

    def test_new_event_on_home_municipality_page_and_api(self, client, svm, municipality):
        urls = ["/", "/municipalities/GM0606/", "/api/v1/events/?municipality=GM0606"]
        before = [page(client, url) for url in urls]
        assert [page(client, url) for url in urls] == before  # now cached
        services.event_record(
            partnership=svm,
            kind="evaluated",
            date_text="2026-10-05",
            municipalities=[municipality("Schiedam")],
            title="Evaluatie van de ontvlechting",
        )
        for url in urls:
            assert "Evaluatie van de ontvlechting" in page(client, url), url

    def test_new_partnership_in_list_count_and_search(self, client, municipality):
        assert "2 samenwerkingsverbanden" in page(client, "/partnerships/")
        assert "0 samenwerkingsverbanden" in page(client, "/partnerships/?q=Waterland")
        partnership = services.partnership_save(partnership=Partnership(name="ICT Waterland", slug="ict-waterland"))
        services.event_record(
            partnership=partnership,
            kind="signed",
            date_text="2024-02-01",
            municipalities=[municipality("Purmerend"), municipality("Edam-Volendam")],
        )
        assert "3 samenwerkingsverbanden" in page(client, "/partnerships/")
        assert "ICT Waterland" in page(client, "/partnerships/?q=Waterland")

    def test_renamed_partnership_is_found_by_its_new_name(self, client, svm):
        assert "0 samenwerkingsverbanden" in page(client, "/partnerships/?q=Schielandbrug")
        svm.name = "Samenwerking Schielandbrug"
        services.partnership_save(partnership=svm)
        assert "Samenwerking Schielandbrug" in page(client, "/partnerships/?q=Schielandbrug")

    def test_deleted_partnership_leaves_list_and_counts(self, client, msg):
        assert msg.name in page(client, "/partnerships/")
        assert page(client, "/api/v1/partnerships/")
        services.partnerships_delete(partnerships=[msg])
        assert msg.name not in page(client, "/partnerships/")
        assert client.get("/api/v1/partnerships/").json()["count"] == 1

    def test_pillar_added(self, client, svm):
        url = "/partnerships/?pillar=service_modernisation"
        assert svm.name not in page(client, url)
        services.partnership_save(
            partnership=svm, save_links=lambda: svm.pillars.add(Pillar.objects.get(code="service_modernisation"))
        )
        assert svm.name in page(client, url)
        assert svm.name in page(client, "/pillars/service_modernisation/")

    def test_partnership_made_internal_leaves_the_public_list(self, client, svm):
        assert svm.name in page(client, "/partnerships/")
        svm.visibility = "internal"
        services.partnership_save(partnership=svm)
        assert svm.name not in page(client, "/partnerships/")
        viewer = get_user_model().objects.create_user("lezer", password="x-very-long-pw-1")
        client.force_login(viewer)
        assert svm.name in page(client, "/partnerships/")  # viewers have their own cache entries


def test_hashed_static_files_are_compressed_and_cached_for_a_year(collected):
    from whitenoise.middleware import WhiteNoiseMiddleware

    url = staticfiles_storage.url("css/portal.css")
    assert url != "/static/css/portal.css"  # a hashed name
    with override_settings(DEBUG=False, WHITENOISE_AUTOREFRESH=False):
        middleware = WhiteNoiseMiddleware(lambda request: None)
    for encoding in ("br", "gzip"):
        request = RequestFactory().get(url, HTTP_ACCEPT_ENCODING=encoding)
        response = middleware(request)
        assert response.status_code == 200
        assert response.headers["Content-Encoding"] == encoding
        assert "max-age=315360000" in response.headers["Cache-Control"]
        assert "immutable" in response.headers["Cache-Control"]
        response.close()
    plain = middleware(RequestFactory().get("/static/css/portal.css"))
    assert "immutable" not in plain.headers.get("Cache-Control", "")
    plain.close()
