"""One filter set: the list page and the API accept and refuse the same values, and select the same
partnerships (cooperation/filters.py)."""

import re

import pytest

from cooperation.filters import YEAR_MAX, YEAR_MIN, PartnershipFilterSet
from cooperation.models import Partnership

pytestmark = pytest.mark.django_db

SVM = "schiedam-vlaardingen-maassluis-ict"
MSG = "maastricht-sittard-geleen-ict"

# (filter, value, accepted): every filter the page and the API share.
VALUES = [
    ("q", "samenwerking", True),
    ("q", "Schiedam Vlaardingen", True),
    ("q", "x" * 200, True),
    ("q", "x" * 201, False),
    ("municipality", "GM0606", True),
    ("province", "Zuid-Holland", True),
    ("province", "Limburg", True),
    ("province", "Atlantis", False),
    ("province", "<script>", False),
    ("pillar", "joint_procurement", True),
    ("pillar", "knowledge_sharing", True),
    ("pillar", "<script>", False),
    ("legal_form", "covenant", True),
    ("legal_form", "wgr_public_body", True),
    ("legal_form", "treaty", False),
    ("status", "active", True),
    ("status", "ended", True),
    ("status", "zzz", False),
    ("year", str(YEAR_MIN), True),
    ("year", "2009", True),
    ("year", "2014", True),
    ("year", str(YEAR_MAX), True),
    ("year", str(YEAR_MIN - 1), False),
    ("year", str(YEAR_MAX + 1), False),
    ("year", "1000", False),
    ("year", "abc", False),
    ("year", "2014.5", False),
]


def page_slugs(html: str) -> set[str]:
    results = html.split('id="results-heading"', 1)[1]
    return set(re.findall(r'href="/partnerships/([a-z0-9-]+)/"', results))


def page_errors(html: str) -> set[str]:
    """The ids of the fields the error summary names."""
    if "error-summary" not in html:
        return set()
    summary = html.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    return set(re.findall(r'href="#id_([a-z_]+)"', summary))


@pytest.mark.parametrize(("name", "value", "accepted"), VALUES, ids=lambda item: str(item)[:20])
def test_page_and_api_accept_and_refuse_the_same_values(client, name, value, accepted):
    page = client.get("/partnerships/", {name: value})
    api = client.get("/api/v1/partnerships/", {name: value})
    assert page.status_code == 200
    html = page.content.decode()
    if accepted:
        assert page_errors(html) == set()
        assert api.status_code == 200
        api_slugs = {item["slug"] for item in api.json()["results"]}
        assert page_slugs(html) == api_slugs
    else:
        # The page names the refused filter in Dutch and lists what the other filters find (all).
        assert page_errors(html) == {name}
        assert "Sommige filters konden niet worden gebruikt" in html
        assert page_slugs(html) == {SVM, MSG}
        assert api.status_code == 400
        assert api["Content-Type"] == "application/problem+json"
        assert [param["name"] for param in api.json()["invalid-params"]] == [name]


@pytest.mark.parametrize(
    ("value", "accepted"), [(str(YEAR_MIN), True), ("2015", True), (str(YEAR_MAX + 1), False), ("abc", False)]
)
def test_events_take_the_same_years(client, value, accepted):
    response = client.get("/api/v1/events/", {"year": value})
    assert response.status_code == (200 if accepted else 400)


def test_filters_combine_alike_on_page_and_api(client):
    query = {"province": "Zuid-Holland", "year": "2015", "pillar": "joint_procurement", "status": "ended"}
    page = page_slugs(client.get("/partnerships/", query).content.decode())
    api = {item["slug"] for item in client.get("/api/v1/partnerships/", query).json()["results"]}
    assert page == api


def test_the_page_offers_the_municipalities_with_partnerships_the_api_takes_any_code(client):
    """The page's municipality is a choice among members (a `<select>`); the API takes any CBS code
    and finds nothing for one without partnerships."""
    html = client.get("/partnerships/", {"municipality": "GM0363"}).content.decode()
    assert page_errors(html) == {"municipality"}
    response = client.get("/api/v1/partnerships/", {"municipality": "GM0363"})
    assert response.status_code == 200 and response.json()["results"] == []


def test_sort_is_the_pages_and_changed_since_the_apis(client):
    html = client.get("/partnerships/", {"sort": "bogus"}).content.decode()
    assert page_errors(html) == {"sort"}
    assert client.get("/api/v1/partnerships/", {"sort": "bogus"}).status_code == 200  # not an API filter
    html = client.get("/partnerships/", {"changed_since": "bogus"}).content.decode()
    assert page_errors(html) == set()  # not a page filter
    assert client.get("/api/v1/partnerships/", {"changed_since": "bogus"}).status_code == 400


def test_a_page_can_use_a_subset_of_the_filters():
    subset = PartnershipFilterSet.only("municipality", "province")
    filterset = subset({"province": "Zuid-Holland", "year": "abc"}, Partnership.objects.all())
    assert list(filterset.form.fields) == ["municipality", "province"]
    assert filterset.is_valid()
    assert {partnership.slug for partnership in filterset.qs} == {SVM}
    assert filterset.valid == {"province": "Zuid-Holland"}
    with pytest.raises(ValueError, match="no filter colour"):
        PartnershipFilterSet.only("province", "colour")


def test_ordering_follows_the_chosen_sort():
    def order(**data):
        return PartnershipFilterSet.only("q", "sort")(data, Partnership.objects.all()).order

    assert order() == "name"
    assert order(q="Schiedam") == "relevance"
    assert order(sort="relevance") == "name"  # nothing to rank without search words
    assert order(q="Schiedam", sort="-first_date") == "-first_date"
    assert order(sort="bogus") == "name"
    oldest_first = PartnershipFilterSet.only("sort")({"sort": "first_date"}, Partnership.objects.all()).qs
    assert [partnership.slug for partnership in oldest_first] == [MSG, SVM]
