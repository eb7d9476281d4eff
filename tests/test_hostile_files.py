"""Hostile files and hostile clicks: zip bombs, deep JSON, mixed encodings, double confirms, two web hosts.

Each file is refused cheaply with a Dutch message, in the admin, in `import_data` and in
`run_import`; a confirm sent four times at once imports once; an upload previewed on one
web server process is confirmed on another.
"""

import io
import os
import re
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse

from cooperation.models import Event, ImportBatch, ImportJob, Partnership
from cooperation.porting import files, jobs
from cooperation.porting.importer import run_import

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parent.parent


def zip_bomb(unpacked_mb: int = 300) -> bytes:
    """An XLSX-shaped archive of about 300 KB whose shared strings unpack into `unpacked_mb` MB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook/>')
        chunk = b"<si><t>" + b"A" * 1_000_000 + b"</t></si>"
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as entry:
            entry.write(b'<?xml version="1.0"?><sst>')
            for _ in range(unpacked_mb):
                entry.write(chunk)
            entry.write(b"</sst>")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return zip_bomb()


# --- Files --------------------------------------------------------------------------------


def test_a_zip_bomb_is_refused_before_it_is_unpacked_in_under_a_second_and_100_mb(bomb):
    assert len(bomb) < 2_000_000
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(files.ImportFileError) as refused:
        files.read_dataset(data=bomb, filename="bom.xlsx")
    seconds = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert "zou uitpakken tot" in refused.value.message
    assert seconds < 1.0, seconds
    assert peak < 100 * 1024 * 1024, peak


def test_a_zip_bomb_in_the_admin_is_a_clear_message_and_nothing_changes(admin_client, bomb, svm):
    events = Event.objects.count()
    upload = io.BytesIO(bomb)
    upload.name = "bom.xlsx"
    response = admin_client.post(reverse("admin:cooperation_event_import"), {"file": upload})
    assert response.status_code == 200
    assert "zou uitpakken tot" in response.content.decode()
    assert 'name="confirm"' not in response.content.decode()
    assert Event.objects.count() == events


def test_a_real_workbook_still_imports(admin_user, svm, msg):
    report = run_import(
        kind="partnerships", data=(DATA / "partnerships.csv").read_bytes(), filename="p.csv", user=admin_user,
        dry_run=False,
    )  # fmt: skip
    assert report.ok, report.problems
    report = run_import(
        kind="events", data=(DATA / "events.xlsx").read_bytes(), filename="e.xlsx", user=admin_user, dry_run=True
    )
    assert report.ok, report.problems


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        '[{"uid": ' + "[" * 50_000 + "]" * 50_000 + "}]",
        '[{"municipalities": [["GM0606"]]}]',
    ],
    ids=["deep-list", "deep-value", "list-in-list"],
)
def test_deeply_nested_json_is_a_clear_message(admin_user, text):
    report = run_import(kind="events", data=text.encode(), filename="diep.json", user=admin_user, dry_run=True)
    [problem] = report.problems
    assert "te diep genest" in problem.message


def test_deeply_nested_json_in_the_command_is_a_message_without_traceback(db, tmp_path, capsys):
    path = tmp_path / "diep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(CommandError):
        call_command("import_data", "events", str(path))
    errors = capsys.readouterr().err
    assert "te diep genest" in errors
    assert "Traceback" not in errors and "RecursionError" not in errors


def test_deeply_nested_json_in_the_admin_is_a_clear_message(admin_client):
    upload = io.BytesIO(("[" * 100_000 + "]" * 100_000).encode())
    upload.name = "diep.json"
    response = admin_client.post(reverse("admin:cooperation_event_import"), {"file": upload})
    assert response.status_code == 200
    assert "te diep genest" in response.content.decode()


def test_a_csv_with_a_utf8_row_and_a_windows_1252_row_is_refused_with_the_line(admin_user):
    data = (
        b"cbs_code,name,province,existed_from,existed_until,merged_into\r\n"
        + "GM9901,Súdwest-Fryslân-proef,FR,,,\r\n".encode()
        + "GM9902,’s-Hertogenbosch-proef,NB,,,\r\n".encode("cp1252")
    )
    report = run_import(kind="municipalities", data=data, filename="gemengd.csv", user=admin_user, dry_run=True)
    [problem] = report.problems
    assert "Regel 3" in problem.message and "regel 2" in problem.message
    assert "UTF-8" in problem.message


def test_a_csv_entirely_in_windows_1252_still_imports(admin_user):
    report = run_import(
        kind="municipalities",
        data=(DATA / "municipalities-windows-1252.csv").read_bytes(),
        filename="m.csv",
        user=admin_user,
        dry_run=True,
    )
    assert report.ok, report.problems


# --- Confirms: once, whatever the clicks or the web host ------------------------------------


def partnerships_csv(prefix: str, rows: int = 5) -> bytes:
    lines = ["slug,name,legal_form,pillars,summary,visibility,last_verified"]
    row = "{prefix}-{n},Proef {prefix} {n},covenant,knowledge_sharing,Proef,public,2026-01-15"
    lines += [row.format(prefix=prefix, n=n) for n in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def session_for(client, user, base_url: str, import_path: str) -> tuple[requests.Session, str]:
    """A requests session signed in as `user` (database sessions: any process knows it) and a CSRF token."""
    client.force_login(user)
    session = requests.Session()
    session.cookies.set("sessionid", client.cookies["sessionid"].value)
    page = session.get(base_url + import_path, timeout=60)
    assert page.status_code == 200, page.status_code
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
    return session, token


def test_four_concurrent_confirms_import_once(seeded_transactional, live_server, client, admin_user):
    job = jobs.job_start(user=admin_user, kind="partnerships", data=partnerships_csv("dubbel"), filename="d.csv")
    assert job.status == ImportJob.Status.PREVIEWED
    path = reverse("admin:cooperation_partnership_import")
    session, token = session_for(client, admin_user, live_server.url, path)
    batches = ImportBatch.objects.count()
    start = threading.Barrier(4)
    statuses = []

    def confirm() -> None:
        start.wait()
        response = session.post(
            live_server.url + path,
            data={"csrfmiddlewaretoken": token, "job": job.pk, "confirm": "1"},
            headers={"Referer": live_server.url + path},
            allow_redirects=False,
            timeout=120,
        )
        statuses.append((response.status_code, response.headers.get("Location", "")))

    threads = [threading.Thread(target=confirm) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _location in statuses] == [302] * 4, statuses
    assert ImportBatch.objects.count() == batches + 1
    assert Partnership.objects.filter(slug__startswith="dubbel-").count() == 5
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and job.batch_id
    # The others were shown the job, whose page tells the first one's result.
    assert sum(location.endswith(job.get_absolute_url()) for _status, location in statuses) == 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def two_web_servers(seeded_transactional):
    """Two `runserver` processes on the test database: two web hosts, nothing shared but PostgreSQL."""
    settings_dict = connection.settings_dict
    url = f"postgres://{settings_dict['USER']}@{settings_dict['HOST'] or '127.0.0.1'}:{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"  # noqa: E501
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_DEBUG": "1"}
    servers = []
    for _ in range(2):
        port = free_port()
        process = subprocess.Popen(  # noqa: S603 (our own manage.py, fixed arguments)
            [sys.executable, "manage.py", "runserver", "--noreload", "--skip-checks", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        servers.append((process, f"http://127.0.0.1:{port}"))
    try:
        for process, base in servers:
            deadline = time.monotonic() + 120
            while True:
                try:
                    requests.get(base + "/", timeout=5)
                    break
                except requests.ConnectionError:
                    assert process.poll() is None, "runserver stopped"
                    assert time.monotonic() < deadline, "runserver did not start"
                    time.sleep(0.5)
        yield [base for _process, base in servers]
    finally:
        for process, _base in servers:
            process.terminate()
            process.wait(30)


def test_preview_on_one_web_host_and_confirm_on_another(two_web_servers, client, admin_user):
    first, second = two_web_servers
    path = reverse("admin:cooperation_partnership_import")
    session, token = session_for(client, admin_user, first, path)
    preview = session.post(
        first + path,
        data={"csrfmiddlewaretoken": token},
        files={"file": ("twee.csv", partnerships_csv("twee-hosts"), "text/csv")},
        headers={"Referer": first + path},
        timeout=120,
    )
    assert preview.status_code == 200
    job = re.search(r'name="job" value="(\d+)"', preview.text)[1]
    assert not Partnership.objects.filter(slug__startswith="twee-hosts-").exists()
    confirmed = session.post(
        second + path,
        data={"csrfmiddlewaretoken": token, "job": job, "confirm": "1"},
        headers={"Referer": second + path},
        allow_redirects=False,
        timeout=120,
    )
    assert confirmed.status_code == 302
    assert confirmed.headers["Location"].endswith(reverse("admin:cooperation_partnership_changelist"))
    assert Partnership.objects.filter(slug__startswith="twee-hosts-").count() == 5
