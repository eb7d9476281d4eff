"""What keeps the portal fast must never make it wrong: cached fragments are never stale,
static files are compressed and cached for long, and the list's filters use their indexes.

Speed itself is measured by `make bench` (bench/run.py), not here.
"""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.management import call_command
from django.test import RequestFactory, override_settings

from cooperation import services
from cooperation.models import Event, Municipality, Participant, Person, Source

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
    def test_event_edit_without_rebuild(self, client, cached_page, svm):
        event = svm.events.get(kind="signed")
        event.title = "Nieuwe titel van de ondertekening"
        event.save()
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
        event.delete()
        assert f"event-{event.uid}" not in page(client)

    def test_municipality_added_to_an_event(self, client, cached_page, svm, municipality):
        event = svm.events.filter(kind="evaluated").first() or svm.events.exclude(kind="signed").first()
        event.municipalities.add(municipality("Delft"))
        assert ">Delft</a>" in page(client)

    def test_source_title_changed(self, client, cached_page, svm):
        source = Source.objects.filter(events__partnership=svm).distinct().first()
        source.title = "Een andere kop boven het artikel"
        source.save()
        assert "Een andere kop boven het artikel" in page(client)

    def test_person_renamed(self, client, cached_page, svm):
        event = svm.events.get(kind="signed")
        person = Person.objects.create(name="Wethouder Eerste Naam")
        Participant.objects.create(event=event, person=person, role="alderman")
        assert "Wethouder Eerste Naam" in page(client)
        person.name = "Wethouder Tweede Naam"
        person.save()
        assert "Wethouder Tweede Naam" in page(client)

    def test_municipality_renamed(self, client, cached_page):
        schiedam = Municipality.objects.get(cbs_code="GM0606")
        schiedam.name = "Schiedam aan de Schie"
        schiedam.save()
        assert "Schiedam aan de Schie" in page(client)

    def test_staff_and_public_get_their_own_fragments(self, client, cached_page, svm, municipality):
        event = svm.events.get(kind="signed")
        Event.objects.filter(pk=event.pk).update(visibility="internal")  # no signal: the key must still differ
        staff = get_user_model().objects.create_user("ambtenaar", password="x-very-long-pw-1", is_staff=True)
        client.force_login(staff)
        assert "badge--internal" in page(client)

    def test_other_language_is_its_own_fragment(self, client, cached_page):
        assert "Signed on 16 April 2013" in page(client, "/en" + SVM_URL)


@pytest.fixture
def collected(tmp_path, settings):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", "--noinput", verbosity=0)
    return tmp_path


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
