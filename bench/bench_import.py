"""Import speed: 100,000 event rows, our resource against a plain ModelResource, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal .venv/bin/python bench/bench_import.py

The DATABASE_URL names the server; the benchmark never touches that database
itself. It builds a template database next to it (`<name>_bench_template`:
migrated, the municipalities, the two seed partnerships and generated ones),
writes an event file (CSV, as an export writes it) on those partnerships, and
imports it into a fresh copy of the template for each measurement, each in
its own process so that its peak memory is its own:

- ours: `importer.run_import()` (the admin, the commands and Celery use it):
  cached lookups, the domain rules once per partnership, bulk writes with
  history;
- plain: a `ModelResource` for Event with the library's default settings
  (row by row; foreign keys and CBS codes through the standard widgets).

It prints a table: rows, seconds, rows per second, peak memory (maximum
resident set size of the importing process), the CPU time of the importing
process and of its PostgreSQL backend, and how much faster ours is (by rows
per second). Options: --rows, --partnerships, --skip-plain, --plain-rows N
(the plain resource needs some 40 minutes for 100,000 rows; this gives it the
first N rows of the same file), --keep (keep the databases).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")

GOAL_SECONDS, GOAL_FACTOR, GOAL_MEMORY_MB = 60, 10, 500
DESCRIPTION = "Gegenereerd voor de benchmark; ’s-Hertogenbosch en Súdwest-Fryslân werken mee. "
EXTRA_KINDS = [
    "intent_declared",
    "tender_launched",
    "contract_awarded",
    "study_commissioned",
    "evaluated",
    "amended",
    "renewed",
    "other",
]


def database_url(name: str) -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{name}"))


def psql(sql: str) -> None:
    import psycopg2

    parts = urlsplit(os.environ["DATABASE_URL"])
    connection = psycopg2.connect(
        host=parts.hostname, port=parts.port or 5432, user=parts.username, password=parts.password, dbname="postgres"
    )
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(sql)
    connection.close()


def date_text(rng: random.Random, year: int) -> str:
    """The forms a spreadsheet of municipalities holds: days (ISO and Dutch), months, seasons, years."""
    form = rng.random()
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    if form < 0.45:
        return f"{year}-{month:02d}-{day:02d}"
    if form < 0.65:
        return f"{day:02d}-{month:02d}-{year}"
    if form < 0.8:
        return f"{year}-{month:02d}"
    if form < 0.9:
        return f"{year}-{rng.choice([21, 22, 23, 24])}"
    return f"{year}~"


def generate_events(rows: int, partnerships: list[tuple[str, list[str]]], seed: int = 5) -> bytes:
    """A CSV of new events (empty uids) spread over the partnerships, valid under the domain rules."""
    rng = random.Random(seed)
    per = max(rows // len(partnerships), 6)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    from cooperation.porting.columns import COLUMNS

    writer.writerow(COLUMNS["events"])
    written = 0
    url_pool = [f"https://nieuws.example.org/artikel/{n}" for n in range(max(rows // 5, 10))]
    for index, (slug, members) in enumerate(partnerships):
        if written >= rows:
            break
        count = min(per if index < len(partnerships) - 1 else rows - written, rows - written)
        year = rng.randint(2000, 2012)
        plan = [("signed", members)]
        leaver = members[-1] if len(members) > 2 else None
        middle = count - 1 - (3 if leaver else 0)
        plan += [(rng.choice(EXTRA_KINDS), rng.sample(members, rng.randint(1, len(members)))) for _ in range(middle)]
        if leaver:
            plan += [("withdrawal_decided", [leaver]), ("withdrawn", [leaver]), ("disentangled", [leaver])]
        # Leaving is three steps in order: autumn, the first of December, the next year.
        leaving_dates = {"withdrawal_decided": f"{year + 12}-23", "withdrawn": f"01-12-{year + 12}"}
        leaving_dates["disentangled"] = f"{year + 13}"
        for number, (kind, municipalities) in enumerate(plan[:count]):
            year_of_event = year + number * 12 // max(count, 1)
            sources = rng.sample(url_pool, rng.choice([0, 1, 1, 1, 2]))
            when = leaving_dates.get(kind) or (date_text(rng, year_of_event) if kind != "signed" else f"{year}-01-15")
            leaving = kind in leaving_dates or kind == "signed"
            writer.writerow(
                [
                    "",
                    slug,
                    kind,
                    when,
                    "happened" if leaving else rng.choice(["happened"] * 8 + ["planned"]),
                    ";".join(municipalities),
                    f"{kind.replace('_', ' ').capitalize()} {number}",
                    DESCRIPTION * rng.randint(0, 2),
                    rng.choice(["", "", "knowledge_sharing", "joint_procurement"]),
                    rng.choice(["", "", "council", "executive"]),
                    "",
                    rng.choice(["", "", "", "125000", "12.500,50"]),
                    rng.choice(["", "", "nog te bepalen"]),
                    "\n".join(sources),
                    "\n".join(f"Artikel {url.rsplit('/', 1)[1]}" for url in sources),
                    "\n".join("Regionaal Dagblad" for _ in sources),
                    "",
                    "\n".join(f"{2000 + int(url.rsplit('/', 1)[1]) % 20}-05-01" for url in sources),
                    "\n".join("news_article" for _ in sources),
                    "public",
                ]
            )
            written += 1
    return out.getvalue().encode("utf-8-sig")


def build_template(name: str, partnership_count: int) -> list[tuple[str, list[str]]]:
    """Migrate a new database and fill it with the reference data and the generated partnerships."""
    psql(f'DROP DATABASE IF EXISTS "{name}"')
    psql(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = database_url(name)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connections

    from cooperation.demo import load_demo
    from cooperation.models import Municipality, Partnership

    call_command("migrate", verbosity=0)
    call_command("load_municipalities", verbosity=0)
    load_demo()
    get_user_model().objects.create_superuser("bench", "bench@example.org", "bench-only-password-0123")
    rng = random.Random(3)
    current = list(Municipality.objects.current().values_list("cbs_code", flat=True))
    Partnership.objects.bulk_create(
        [
            Partnership(slug=f"bench-{n:05d}", name=f"Benchmark-samenwerking {n}", is_synthetic=True)
            for n in range(partnership_count)
        ]
    )
    partnerships = [(f"bench-{n:05d}", rng.sample(current, rng.randint(2, 5))) for n in range(partnership_count)]
    for slug in ("schiedam-vlaardingen-maassluis-ict", "maastricht-sittard-geleen-ict"):
        members = list(Partnership.objects.get(slug=slug).memberships.values_list("municipality__cbs_code", flat=True))
        partnerships.append((slug, members[:2]))
    connections.close_all()
    return partnerships


def database_cpu(pid: int) -> float:
    """CPU seconds of the PostgreSQL backend serving us (on this machine), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child(which: str, path: str, rows: int | None) -> None:
    """One measurement, in its own process: import the file (its first `rows`), print JSON."""
    _die_with_parent()
    import django

    django.setup()
    import tablib
    from django.contrib.auth import get_user_model
    from import_export import fields, resources, widgets

    from cooperation.models import Event, Municipality, Partnership, Pillar
    from cooperation.porting import importer

    data = Path(path).read_bytes()
    if rows:
        data = b"\r\n".join(data.split(b"\r\n")[: rows + 1]) + b"\r\n"
    user = get_user_model().objects.get(username="bench")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    database_before = database_cpu(backend)
    before = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = before.ru_utime + before.ru_stime
    started = time.perf_counter()
    if which == "ours":
        report = importer.run_import(kind="events", data=data, filename=path, user=user, dry_run=False)
        rows, problems, new = report.total_rows, [p.message for p in report.problems[:5]], report.new
    else:

        class PlainEventResource(resources.ModelResource):
            """The library's defaults: row by row, standard widgets for the natural keys."""

            partnership = fields.Field(
                attribute="partnership", column_name="partnership", widget=widgets.ForeignKeyWidget(Partnership, "slug")
            )
            municipalities = fields.Field(
                attribute="municipalities",
                column_name="municipalities",
                widget=widgets.ManyToManyWidget(Municipality, separator=";", field="cbs_code"),
            )
            pillar = fields.Field(
                attribute="pillar", column_name="pillar", widget=widgets.ForeignKeyWidget(Pillar, "code")
            )
            date = fields.Field(attribute="date_text", column_name="date")

            class Meta:
                model = Event
                import_id_fields = ["uid"]
                fields = (
                    "uid",
                    "partnership",
                    "kind",
                    "date",
                    "status",
                    "municipalities",
                    "title",
                    "description",
                    "pillar",
                    "decided_by",
                    "reason",
                    "cost_note",
                    "visibility",
                )

        dataset = tablib.Dataset().load(data.decode("utf-8-sig"), format="csv")
        result = PlainEventResource().import_data(dataset, dry_run=False)
        rows, new = len(dataset), result.totals["new"]
        problems = [str(row.error)[:200] for row in result.invalid_rows[:5]]
        problems += [str(error.error)[:200] for row in result.error_rows[:5] for error in row.errors]
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_mb = usage.ru_maxrss / 1024
    print(
        json.dumps(
            {
                "which": which,
                "rows": rows,
                "new": new,
                "events": Event.objects.count(),
                "seconds": seconds,
                "cpu_seconds": usage.ru_utime + usage.ru_stime - cpu_before,
                "database_cpu_seconds": database_cpu(backend) - database_before,
                "peak_mb": peak_mb,
                "problems": problems,
            }
        )
    )


def _die_with_parent() -> None:
    """A measurement outlives no interrupted benchmark (Linux: PR_SET_PDEATHSIG)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def measure(which: str, template: str, path: Path, keep: bool, rows: int | None = None) -> dict:
    name = f"{template.removesuffix('_template')}_{which}"
    psql(f'DROP DATABASE IF EXISTS "{name}"')
    psql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    env = {**os.environ, "DATABASE_URL": database_url(name), "DATABASE_CONN_MAX_AGE": "0"}
    # As in production: DEBUG off (with DEBUG on, Django keeps the text of every statement).
    env.update({"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "bench-only-" + "x" * 50})
    # 100,000 rows are more than the default upload limit of 20 MB; the limit is a setting.
    env["IMPORT_MAX_UPLOAD_BYTES"] = str(max(20 * 1024 * 1024, path.stat().st_size + 1024 * 1024))
    try:
        output = subprocess.run(  # noqa: S603 (our own script, fixed arguments)
            [
                sys.executable,
                __file__,
                "--child",
                which,
                "--file",
                str(path),
                *(["--child-rows", str(rows)] if rows else []),
            ],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        if not keep:
            psql(f'DROP DATABASE IF EXISTS "{name}"')
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--partnerships", type=int, default=2_000)
    parser.add_argument("--skip-plain", action="store_true")
    parser.add_argument(
        "--plain-rows",
        type=int,
        help="give the plain resource only the first N rows of the same file (it needs 30+ minutes for 100,000); "
        "the comparison is then by rows per second",
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument("--child", choices=["ours", "plain"], help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--child-rows", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        child(options.child, options.file, options.child_rows)
        return
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/portal")
    server_url = url
    template = f"{urlsplit(url).path.lstrip('/') or 'portal'}_bench_template"
    print(f"Building {template} ({options.partnerships:,} partnerships)...", flush=True)
    partnerships = build_template(template, options.partnerships)
    os.environ["DATABASE_URL"] = server_url
    path = Path(tempfile.gettempdir()) / f"bench-events-{options.rows}.csv"
    path.write_bytes(generate_events(options.rows, partnerships))
    print(f"Event file: {path} ({path.stat().st_size / 1e6:.1f} MB, {options.rows:,} rows)", flush=True)
    results = []
    try:
        for which in ["ours"] if options.skip_plain else ["ours", "plain"]:
            print(f"Importing with {which}...", flush=True)
            rows = options.plain_rows if which == "plain" else None
            results.append(measure(which, template, path, options.keep, rows))
    finally:
        if not options.keep:
            psql(f'DROP DATABASE IF EXISTS "{template}"')
    print()
    header = f"{'resource':<8} {'rows':>9} {'created':>9} {'seconds':>9} {'rows/s':>9} {'peak MB':>9}"
    print(f"{header} {'CPU s':>7} {'DB CPU s':>9}")
    for result in results:
        print(
            f"{result['which']:<8} {result['rows']:>9,} {result['new']:>9,} {result['seconds']:>9.1f} "
            f"{result['rows'] / result['seconds']:>9,.0f} {result['peak_mb']:>9.0f} "
            f"{result['cpu_seconds']:>7.1f} {result['database_cpu_seconds']:>9.1f}"
        )
        for problem in result["problems"]:
            print(f"  problem: {problem}")
    ours = results[0]
    verdicts = [
        f"ours under {GOAL_SECONDS} s: {'yes' if ours['seconds'] < GOAL_SECONDS else 'NO'}",
        f"peak under {GOAL_MEMORY_MB} MB: {'yes' if ours['peak_mb'] < GOAL_MEMORY_MB else 'NO'}",
    ]
    if len(results) == 2:
        # By throughput: the same when both imported the whole file, fair when plain had a part of it.
        factor = (ours["rows"] / ours["seconds"]) / (results[1]["rows"] / results[1]["seconds"])
        verdict = "yes" if factor >= GOAL_FACTOR else "NO"
        verdicts.append(f"{factor:.1f}× faster than plain (goal {GOAL_FACTOR}×): {verdict}")
    print("; ".join(verdicts))
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"PostgreSQL via {urlsplit(server_url).hostname}, {os.cpu_count()} CPUs, load average {load}, "
        f"{datetime.date.today().isoformat()}. CPU s: the importing process; DB CPU s: its PostgreSQL backend. "
        "On a busy machine the seconds exceed their sum."
    )


if __name__ == "__main__":
    main()
