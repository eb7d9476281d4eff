#!/usr/bin/env python3
"""Deploy the portal the way docs/operations.md tells an operator to, and prove it works.

Against the PostgreSQL and Redis of this machine: a fresh database, production settings
(DJANGO_DEBUG=0), `migrate`, `collectstatic`, the reference data, a first administrator,
`check --deploy`, then the three processes of the Procfile (web, worker, beat) under honcho,
behind a pretend TLS proxy (`X-Forwarded-Proto: https` from 127.0.0.1), and smoke requests:
the health endpoint, pages, a static file with its long cache headers, the admin login, and a
download that only the worker can build. Then everything is stopped and the database dropped.

    make deploy-check            # or: .venv/bin/python scripts/deploy_check.py

Exits 0 when every step passed; prints each step and its time.
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
PG = os.environ.get("DEPLOY_CHECK_POSTGRES", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("DEPLOY_CHECK_REDIS", "redis://127.0.0.1:6379")
DATABASE = "portal_deploy_check"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def step(name: str):
    print(f"• {name}", flush=True)
    return time.monotonic()


def done(started: float) -> None:
    print(f"  ok ({time.monotonic() - started:.1f} s)", flush=True)


def run(args: list[str], env: dict) -> str:
    result = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)  # noqa: S603
    if result.returncode != 0:
        sys.exit(f"FAILED: {' '.join(args)}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def request(port: int, path: str, *, https: bool = True, method: str = "GET") -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Host": "127.0.0.1", "Accept-Encoding": "gzip"}
    if https:
        headers["X-Forwarded-Proto"] = "https"
    connection.request(method, path, headers=headers)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


def expect(condition: bool, message: str) -> None:
    if not condition:
        sys.exit(f"FAILED: {message}")


def main() -> None:  # noqa: PLR0915 (one procedure, read top to bottom)
    work = Path(tempfile.mkdtemp(prefix="portal-deploy-check-"))
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_", "DATABASE_", "CACHE_"))},
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": f"{PG}/{DATABASE}",
        "CELERY_BROKER_URL": f"{REDIS}/13",
        "CACHE_URL": f"{REDIS}/12",
        "PORTAL_TRUSTED_PROXY_COUNT": "1",
        "DJANGO_STATIC_ROOT": str(work / "static"),
        "CELERY_BEAT_SCHEDULE_FILE": str(work / "celerybeat-schedule"),
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "CELERY_CONCURRENCY": "1",
        "DJANGO_SUPERUSER_USERNAME": "beheerder",
        "DJANGO_SUPERUSER_EMAIL": "beheer@example.invalid",
        "DJANGO_SUPERUSER_PASSWORD": secrets.token_urlsafe(16),
    }
    python = str(BIN / "python")
    started = step(f"fresh database {DATABASE}")
    run(["dropdb", "--if-exists", "-h", "127.0.0.1", "-U", "postgres", DATABASE], env)
    run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DATABASE], env)
    run(["redis-cli", "-n", "13", "flushdb"], env)
    run(["redis-cli", "-n", "12", "flushdb"], env)
    done(started)
    processes = None
    try:
        for args in (
            ["migrate", "--noinput"],
            ["collectstatic", "--noinput"],
            ["load_municipalities"],
            ["createsuperuser", "--noinput"],
            ["check", "--deploy", "--fail-level", "WARNING"],
        ):
            started = step("manage.py " + " ".join(args))
            run([python, "manage.py", *args], env)
            done(started)

        started = step(f"honcho start (Procfile: web, worker, beat) on 127.0.0.1:{port}")
        log = (work / "processes.log").open("w")
        processes = subprocess.Popen(  # noqa: S603
            [str(BIN / "honcho"), "start", "-f", "Procfile"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _headers, body = request(port, "/healthz", https=False)
                if status == 200:
                    break
            except OSError:
                pass
            expect(time.monotonic() < deadline, "the web process did not answer /healthz within 60 s")
            expect(processes.poll() is None, "honcho stopped: " + (work / "processes.log").read_text()[-3000:])
            time.sleep(0.5)
        expect(b'"database": "ok"' in body and b'"broker": "ok"' in body, f"/healthz: {body!r}")
        done(started)

        started = step("pages behind the proxy, HTTPS redirect without it")
        status, headers, body = request(port, "/")
        expect(status == 200, f"/ answered {status}")
        status, headers, _ = request(port, "/partnerships/", https=False)
        expect(status == 301 and headers["location"].startswith("https://"), f"plain HTTP: {status}")
        expect("strict-transport-security" in request(port, "/")[1], "no HSTS header")
        done(started)

        started = step("a static file from its hashed name, compressed, cached for a year")
        stylesheet = re.search(rb'href="(/static/[^"]+\.css)"', request(port, "/")[2])
        expect(stylesheet is not None, "no stylesheet on the home page")
        status, headers, _ = request(port, stylesheet.group(1).decode())
        expect(status == 200 and "immutable" in headers.get("cache-control", ""), f"static: {status} {headers}")
        done(started)

        started = step("the sign-in page (the admin's login leads there)")
        status, headers, _body = request(port, "/admin/login/")
        expect(status == 302 and "/accounts/login/" in headers.get("location", ""), f"/admin/login/: {status}")
        status, _headers, body = request(port, "/accounts/login/")
        expect(status == 200 and b"csrfmiddlewaretoken" in body, f"/accounts/login/ answered {status}")
        done(started)

        started = step("a download built by the worker (web → Redis → worker → PostgreSQL)")
        deadline = time.monotonic() + 90
        while True:
            status, headers, body = request(port, "/downloads/municipalities.csv")
            if status == 200:
                break
            expect(status == 503, f"/downloads/municipalities.csv answered {status}")
            expect(time.monotonic() < deadline, "the worker did not build the download within 90 s")
            time.sleep(1)
        expect(b"GM0363" in body, "the download lacks Amsterdam")
        done(started)

        started = step("beat runs and keeps its schedule in CELERY_BEAT_SCHEDULE_FILE")
        deadline = time.monotonic() + 30
        while not list(work.glob("celerybeat-schedule*")):
            expect(time.monotonic() < deadline, "beat wrote no schedule file")
            time.sleep(0.5)
        done(started)

        started = step("one log format: ISO 8601 timestamps in UTC from web, worker and beat")
        text = (work / "processes.log").read_text()
        stamps = re.findall(r"\| (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) ", text)
        for name in ("web", "worker", "beat"):
            lines = [line for line in text.splitlines() if line.split(" ", 2)[1:2] == [f"{name}.1"]]
            expect(lines, f"no log lines from {name}")
        expect(len(stamps) >= 3, "log lines without UTC ISO 8601 timestamps:\n" + text[-2000:])
        done(started)
    finally:
        if processes is not None and processes.poll() is None:
            os.killpg(processes.pid, signal.SIGTERM)
            try:
                processes.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(processes.pid, signal.SIGKILL)
        subprocess.run(["dropdb", "--if-exists", "-h", "127.0.0.1", "-U", "postgres", DATABASE], check=False)  # noqa: S603, S607
    print("deploy check passed")


if __name__ == "__main__":
    main()
