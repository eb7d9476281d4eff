"""/healthz for load balancers: database and broker reachable, nothing else disclosed."""

import json

from django.test import override_settings


def test_healthz_says_ok_when_database_and_broker_answer(client, db):
    response = client.get("/healthz", HTTP_HOST="10.0.0.5")  # a balancer probes by address, not by name
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok", "database": "ok", "broker": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_healthz_names_the_part_that_is_down_and_nothing_more(client, db):
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0"):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = json.loads(response.content)
    assert body == {"status": "unavailable", "database": "ok", "broker": "unavailable"}
    assert b"127.0.0.1" not in response.content


def test_healthz_answers_plain_http_even_when_https_is_enforced(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/about/").status_code == 301


def test_healthz_only_reads(client, db):
    assert client.post("/healthz").status_code == 405
