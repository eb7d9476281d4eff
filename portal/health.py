"""`/healthz`: is this web process able to serve? For load balancers and monitoring.

Answered by a middleware at the top of the stack, before the host check, the HTTPS redirect,
sessions and CSRF: a load balancer probes each backend by its own address over plain HTTP.
It checks that the database answers and the Celery broker accepts a connection, and says only
"ok" or "unavailable" per part (no addresses, versions or errors: nothing an outsider could use).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from kombu import Connection

logger = logging.getLogger(__name__)

PATH = "/healthz"
BROKER_TIMEOUT = 2  # seconds


def _database() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception as error:  # any failure means "not healthy", and is logged for the operator
        logger.warning("Health check: database unavailable: %s", error)
        return False


def _broker() -> bool:
    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=BROKER_TIMEOUT) as broker:
            broker.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT)
        return True
    except Exception as error:
        logger.warning("Health check: broker unavailable: %s", error)
        return False


def check() -> tuple[bool, dict[str, str]]:
    parts = {"database": _database(), "broker": _broker()}
    return all(parts.values()), {name: "ok" if ok else "unavailable" for name, ok in parts.items()}


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.rstrip("/") != PATH:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return JsonResponse({"status": "method not allowed"}, status=405, headers={"Allow": "GET, HEAD"})
        healthy, parts = check()
        response = JsonResponse({"status": "ok" if healthy else "unavailable", **parts}, status=200 if healthy else 503)
        response["Cache-Control"] = "no-store"
        return response
