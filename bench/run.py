"""The benchmark suite: the public pages, the API and a feed through a real server, on small and large data.

    make bench            # or: .venv/bin/python bench/run.py [--fresh] [--quick] [--skip-import]
                          # one page alone: bench/run.py --only "national map" --size small

For each size (small first, then large) it prepares a PostgreSQL database (`portal_bench_small`,
`portal_bench_large`: migrated, municipalities, the demo, `generate_data --size ...`; kept between
runs and rebuilt when the generator or the migrations change, or with --fresh), collects the
static files, starts gunicorn (2 workers, DJANGO_DEBUG=0) on a free port of 127.0.0.1 and
measures each URL with repeated requests (median and 95th percentile, milliseconds). It also
measures the SQL floor of the partnership page (one raw psycopg2 query for the same data), the
partnership page under 2, 8 and 32 concurrent clients, the queries per page (Django test client,
cold and warm cache), each page with the cache emptied before every request (cold), and runs
bench/bench_import.py (100,000 event rows, ours against a plain resource).

Prints one table and writes it to bench/results.md with the date and the machine. All traffic
stays on 127.0.0.1; every loop is bounded in count and in time.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import http.client
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
SERVER = os.environ.get("BENCH_DATABASE_SERVER", "postgres://postgres@127.0.0.1:5432")
CACHE_URL = os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/13")
# Databases are named <prefix>_small and <prefix>_large.
DATABASE_PREFIX = os.environ.get("BENCH_DATABASE_PREFIX", "portal_bench")
HOST = "127.0.0.1"
REPEATS, TIME_PER_URL = 80, 25.0  # requests per URL, and at most this many seconds
COLD_REPEATS = 10  # requests per URL with an emptied cache
CONCURRENCY, LOAD_SECONDS = (2, 8, 32), 10.0
FLAGSHIP = "synthetic-1-0"  # the largest partnership (25 members) of generate_data --seed 1

BASE_ENV = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789-abcdefghij",
    "DJANGO_SECURE_SSL_REDIRECT": "0",
    "DJANGO_ALLOWED_HOSTS": HOST,
    "CACHE_URL": CACHE_URL,
    "API_ANON_RATE": "10000000/hour",  # the API's throttle would otherwise answer 429
    "CELERY_TASK_ALWAYS_EAGER": "1",
    "DJANGO_LOG_LEVEL": "WARNING",
}


def env_for(database: str, **extra) -> dict:
    return {**os.environ, **BASE_ENV, "DATABASE_URL": f"{SERVER}/{database}", **extra}


def manage(database: str, *args: str, **extra) -> str:
    result = subprocess.run(  # noqa: S603 (our own manage.py, fixed arguments)
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env_for(database, **extra), capture_output=True, text=True
    )
    if result.returncode:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def psql(sql: str, database: str = "postgres") -> str:
    """Run SQL built here from fixed names (never from input) with psql from the PATH, as the Makefile does."""
    return subprocess.run(  # noqa: S603
        ["psql", f"{SERVER}/{database}", "-qtAc", sql],  # noqa: S607
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def data_version(size: str) -> str:
    """Changes when the generator, the derivations or the migrations change."""
    digest = hashlib.sha256(size.encode())
    for path in [ROOT / "cooperation/synthetic.py", ROOT / "cooperation/timeline.py"]:
        digest.update(path.read_bytes())
    for path in sorted((ROOT / "cooperation/migrations").glob("0*.py")):
        digest.update(path.name.encode())
    return digest.hexdigest()[:16]


def prepare(size: str, fresh: bool) -> str:
    database = f"{DATABASE_PREFIX}_{size}"
    version = data_version(size)
    exists = psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}'") == "1"  # noqa: S608
    if exists and not fresh:
        stamp = psql(f"SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '{database}'")  # noqa: S608
        if stamp == version:
            print(f"  {database}: up to date, kept", flush=True)
            return database
    started = time.monotonic()
    psql(f'DROP DATABASE IF EXISTS "{database}"')
    psql(f'CREATE DATABASE "{database}"')
    manage(database, "migrate", "--noinput")
    manage(database, "load_municipalities")
    manage(database, "load_demo")
    print("  " + manage(database, "generate_data", "--size", size, "--seed", "1").strip().splitlines()[-1], flush=True)
    psql("VACUUM ANALYZE", database)
    psql(f"COMMENT ON DATABASE \"{database}\" IS '{version}'")
    print(f"  {database}: built in {time.monotonic() - started:.0f} s", flush=True)
    return database


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn with 2 workers on a free port; stopped on exit."""

    def __init__(self, database: str):
        self.port = free_port()
        self.process = subprocess.Popen(  # noqa: S603
            [GUNICORN, "portal.wsgi", "--workers", "2", "--bind", f"{HOST}:{self.port}", "--log-level", "warning"],
            cwd=ROOT,
            env=env_for(database),
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if get(self.port, "/about/")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        sys.exit("gunicorn did not answer within 30 seconds")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def get(port: int, path: str) -> tuple[int, float, int]:
    """One GET (gzip accepted, as browsers do): status, milliseconds, bytes."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        connection.request("GET", path, headers={"Accept-Encoding": "gzip"})
        response = connection.getresponse()
        body = response.read()
        return response.status, (time.perf_counter() - started) * 1000, len(body)
    finally:
        connection.close()


def summary(samples: list[float]) -> dict:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median": statistics.median(ordered), "p95": p95, "n": len(ordered)}


def measure_url(port: int, path: str, repeats: int) -> dict:
    for _ in range(3):  # warm-up: worker imports, first render into the cache
        status, _ms, _size = get(port, path)
        if status != 200:
            sys.exit(f"GET {path} answered {status}")
    samples, deadline = [], time.monotonic() + TIME_PER_URL
    while len(samples) < repeats and time.monotonic() < deadline:
        status, ms, _size = get(port, path)
        if status != 200:
            sys.exit(f"GET {path} answered {status}")
        samples.append(ms)
    return summary(samples)


FLOOR_SQL = """
SELECT p.id, p.name, p.slug, p.summary, p.legal_form, p.last_verified, p.status,
       (SELECT json_agg(json_build_object('code', pi.code, 'name', pi.name_nl))
          FROM cooperation_partnership_pillars pp JOIN cooperation_pillar pi ON pi.id = pp.pillar_id
         WHERE pp.partnership_id = p.id) AS pillars,
       (SELECT json_agg(json_build_object('title', a.title, 'kind', a.kind, 'date', a.date_text))
          FROM cooperation_agreement a WHERE a.partnership_id = p.id) AS agreements,
       (SELECT json_agg(json_build_object(
                 'uid', e.uid, 'kind', e.kind, 'status', e.status, 'date', e.date_text, 'lower', e.date_lower,
                 'upper', e.date_upper, 'title', e.title, 'description', e.description, 'role', e.role,
                 'reason', e.reason, 'cost', e.cost_eur, 'cost_note', e.cost_note, 'decided_by', e.decided_by,
                 'municipalities', (SELECT json_agg(json_build_object('code', m.cbs_code, 'name', m.name))
                                      FROM cooperation_event_municipalities em
                                      JOIN cooperation_municipality m ON m.id = em.municipality_id
                                     WHERE em.event_id = e.id),
                 'sources', (SELECT json_agg(json_build_object('url', s.url, 'title', s.title, 'kind', s.kind,
                                                               'publisher', s.publisher, 'published', s.published_on))
                               FROM cooperation_event_sources es JOIN cooperation_source s ON s.id = es.source_id
                              WHERE es.event_id = e.id),
                 'people', (SELECT json_agg(json_build_object('name', pe.name, 'role', pa.role))
                              FROM cooperation_participant pa JOIN cooperation_person pe ON pe.id = pa.person_id
                             WHERE pa.event_id = e.id))
               ORDER BY e.date_lower NULLS LAST, e.id)
          FROM cooperation_event e
         WHERE e.partnership_id = p.id AND e.visibility = 'public') AS events
  FROM cooperation_partnership p
 WHERE p.slug = %s AND p.visibility = 'public'
"""


def measure_floor(database: str, repeats: int) -> dict:
    """The minimal SQL for the partnership page: one raw query, over a kept connection."""
    import psycopg2

    connection = psycopg2.connect(f"{SERVER}/{database}")
    try:
        with connection.cursor() as cursor:
            samples = []
            for index in range(repeats + 3):
                started = time.perf_counter()
                cursor.execute(FLOOR_SQL, [FLAGSHIP])
                row = cursor.fetchone()
                if index >= 3:
                    samples.append((time.perf_counter() - started) * 1000)
            events = len(row[-1] or [])
    finally:
        connection.close()
    return {**summary(samples), "events": events}


def measure_load(port: int, path: str, clients: int) -> dict:
    """Requests per second and errors with `clients` clients requesting at once for LOAD_SECONDS."""
    stop_at = time.monotonic() + LOAD_SECONDS
    counts = {"ok": 0, "errors": 0}
    lock = threading.Lock()

    def client() -> None:
        while time.monotonic() < stop_at:
            try:
                ok = get(port, path)[0] == 200
            except OSError:
                ok = False
            with lock:
                counts["ok" if ok else "errors"] += 1

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        for _ in range(clients):
            pool.submit(client)
    elapsed = time.monotonic() - started
    total = counts["ok"] + counts["errors"]
    return {"rps": counts["ok"] / elapsed, "errors": counts["errors"], "total": total}


QUERY_COUNTER = """
import json, sys
import django
django.setup()
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
client, counts = Client(), {}
for path in json.loads(sys.argv[1]):
    cache.clear()
    counts[path] = []
    for _ in ("cold", "warm"):
        with CaptureQueriesContext(connection) as queries:
            status = client.get(path).status_code
        counts[path].append(len(queries) if status == 200 else -status)
print(json.dumps(counts))
"""


def count_queries(database: str, paths: list[str]) -> dict:
    """Queries per page with an empty cache (cold) and right after (warm): path -> [cold, warm]."""
    result = subprocess.run(  # noqa: S603
        [PYTHON, "-c", QUERY_COUNTER, json.dumps(paths)],
        cwd=ROOT,
        env=env_for(
            database, DJANGO_SETTINGS_MODULE="portal.settings", CACHE_URL="locmem://", DJANGO_ALLOWED_HOSTS="testserver"
        ),
        capture_output=True,
        text=True,
    )
    if result.returncode:
        print(result.stderr)
        return {}
    return json.loads(result.stdout.strip().splitlines()[-1])


def flush_cache() -> None:
    if CACHE_URL.startswith("redis://"):
        subprocess.run(["redis-cli", "-u", CACHE_URL, "FLUSHDB"], check=False, capture_output=True)  # noqa: S603,S607


def measure_cold(port: int, path: str, repeats: int) -> dict:
    """The first view after a change: the cache emptied before every request."""
    samples = []
    for _ in range(repeats):
        flush_cache()
        status, ms, _size = get(port, path)
        if status != 200:
            sys.exit(f"GET {path} answered {status}")
        samples.append(ms)
    return summary(samples)


def pages(database: str) -> list[tuple[str, str]]:
    busiest = psql(
        "SELECT m.cbs_code FROM cooperation_membership ms JOIN cooperation_municipality m ON m.id = ms.municipality_id"
        " GROUP BY m.cbs_code ORDER BY count(*) DESC, m.cbs_code LIMIT 1",
        database,
    )
    # A search that finds the largest partnership on both sizes: the name of its first member.
    member = psql(
        "SELECT m.name FROM cooperation_membership ms JOIN cooperation_municipality m ON m.id = ms.municipality_id"  # noqa: S608
        f" JOIN cooperation_partnership p ON p.id = ms.partnership_id WHERE p.slug = '{FLAGSHIP}'"
        " ORDER BY ms.position LIMIT 1",
        database,
    )
    return [
        ("home", "/"),
        ("partnership list", "/partnerships/"),
        (
            "list, filtered",
            "/partnerships/?province=Zuid-Holland&pillar=joint_procurement&status=active&sort=-first_date",
        ),
        ("list, searched", "/partnerships/?" + urlencode({"q": member})),
        ("largest partnership", f"/partnerships/{FLAGSHIP}/"),
        (f"municipality ({busiest})", f"/municipalities/{busiest}/"),
        ("API list page", "/api/v1/events/"),
        ("feed", "/feeds/events/"),
        ("national map", "/kaart/"),
        ("national map, filtered", "/kaart/?pillar=joint_procurement&year=2020&order=-count"),
        ("list, searched by stem", "/partnerships/?q=inkoop"),
        ("agreements", "/agreements/"),
        ("municipality index", "/municipalities/"),
    ]


def run_import_bench(quick: bool) -> dict | None:
    script = ROOT / "bench" / "bench_import.py"
    if not script.exists():
        print("  bench/bench_import.py does not exist: import not measured", flush=True)
        return None
    # The plain resource needs 30+ minutes for 100,000 rows on a 2-core machine, so by default it
    # gets the first 10,000 rows of the same file and the comparison is by rows per second.
    # BENCH_IMPORT_ARGS overrides, e.g. "" for the whole file or "--skip-plain".
    extra = os.environ.get("BENCH_IMPORT_ARGS", "--plain-rows 10000").split()
    args = [PYTHON, str(script), *(["--rows", "10000"] if quick else []), *extra]
    try:
        result = subprocess.run(  # noqa: S603
            args,
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": f"{SERVER}/portal_bench"},
            capture_output=True,
            text=True,
            timeout=1800,
        )
    except subprocess.TimeoutExpired:
        print("  bench/bench_import.py took longer than 30 minutes: import not measured", flush=True)
        return None
    print(result.stdout[-1500:], flush=True)
    if result.returncode:
        print(result.stderr[-2000:])
        return None
    rows = {}
    for line in result.stdout.splitlines():
        match = re.match(r"^(ours|plain)\s+([\d,]+)\s+([\d,]+)\s+([\d.]+)\s+([\d,]+)\s+([\d.]+)", line)
        if match:
            rows[match[1]] = {"rows": match[2], "seconds": float(match[4]), "rps": match[5], "peak_mb": match[6]}
    return rows or None


def machine() -> str:
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        cpu = found[1].strip() if found else cpu
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        found = re.search(r"MemTotal:\s*(\d+)", meminfo.read_text())
        memory = f", {int(found[1]) / 1024 / 1024:.1f} GB RAM" if found else ""
    postgres = psql("SHOW server_version")
    return (
        f"{cpu}, {os.cpu_count()} cores{memory}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; PostgreSQL {postgres}; cache {CACHE_URL.split('://')[0]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fresh", action="store_true", help="rebuild the benchmark databases")
    parser.add_argument("--quick", action="store_true", help="fewer repeats, 10,000 import rows (a smoke test)")
    parser.add_argument("--skip-import", action="store_true", help="do not run bench/bench_import.py")
    parser.add_argument(
        "--only",
        metavar="TEXT",
        help="measure only the pages whose name contains TEXT (e.g. 'map'), print them, write nothing",
    )
    parser.add_argument("--size", choices=("small", "large"), help="only this size of data")
    options = parser.parse_args()
    repeats = 15 if options.quick else REPEATS
    load_before = os.getloadavg()
    started = time.monotonic()
    print("Collecting static files...", flush=True)
    manage("postgres", "collectstatic", "--noinput")
    redis_db = CACHE_URL.rsplit("/", 1)[-1]
    flush_cache()
    results: dict[str, dict] = {}
    for size in (options.size,) if options.size else ("small", "large"):
        print(f"Data: {size}", flush=True)
        database = prepare(size, options.fresh)
        urls = [(name, path) for name, path in pages(database) if not options.only or options.only in name]
        results[size] = {"pages": {}, "queries": count_queries(database, [path for _name, path in urls])}
        results[size]["events"] = int(psql("SELECT count(*) FROM cooperation_event", database))
        results[size]["partnerships"] = int(psql("SELECT count(*) FROM cooperation_partnership", database))
        server = Server(database)
        try:
            for name, path in urls:
                cold = measure_cold(server.port, path, 3 if options.quick else COLD_REPEATS)
                results[size]["pages"][name] = {"path": path, **measure_url(server.port, path, repeats), "cold": cold}
                page = results[size]["pages"][name]
                print(
                    f"  {name:<28} median {page['median']:7.1f} ms  p95 {page['p95']:7.1f} ms  "
                    f"cold median {cold['median']:7.1f} ms",
                    flush=True,
                )
            if options.only:
                continue
            results[size]["floor"] = measure_floor(database, repeats)
            if size == "large":
                path = f"/partnerships/{FLAGSHIP}/"
                results[size]["load"] = {c: measure_load(server.port, path, c) for c in CONCURRENCY}
        finally:
            server.stop()
    if options.only or options.size:
        print(json.dumps({size: {**r["pages"], "queries": r["queries"]} for size, r in results.items()}, indent=1))
        return
    # The pages' table first, so a failing import benchmark loses nothing.
    (ROOT / "bench" / "results.md").write_text(report(results, None, load_before, os.getloadavg(), 0, options.quick))
    print("Import benchmark (bench/bench_import.py)...", flush=True)
    imports = None if options.skip_import else run_import_bench(options.quick)
    table = report(results, imports, load_before, os.getloadavg(), time.monotonic() - started, options.quick)
    print()
    print(table)
    (ROOT / "bench" / "results.md").write_text(table)
    print(f"Written to bench/results.md (redis db {redis_db} used as cache)")


def report(results, imports, load_before, load_after, seconds, quick) -> str:
    small, large = results["small"], results["large"]
    lines = [
        "# Benchmark results",
        "",
        f"Measured {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')} by `make bench` (bench/run.py"
        f"{' --quick' if quick else ''}) in {seconds / 60:.1f} minutes.",
        f"Machine: {machine()}.",
        f"Load average before / after: {load_before[0]:.2f} / {load_after[0]:.2f} (other work on the machine "
        "adds noise).",
        "Server: gunicorn, 2 sync workers, DJANGO_DEBUG=0; client: http.client on the same machine, gzip accepted.",
        f"Data: small = {small['partnerships']:,} partnerships, {small['events']:,} events; "
        f"large = {large['partnerships']:,} partnerships, {large['events']:,} events (generate_data --seed 1).",
        "",
        "| page | queries cold / warm (small; large) | small median ms | small p95 ms | large median ms | "
        "large p95 ms | large / small | cold median ms (small; large) |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def queries(size: dict, path: str) -> str:
        cold_warm = size["queries"].get(path)
        return "/".join(str(n) for n in cold_warm) if cold_warm else "?"

    for name, page in large["pages"].items():
        small_name = next(n for n in small["pages"] if n.split(" (")[0] == name.split(" (")[0])
        before = small["pages"][small_name]
        ratio = page["median"] / before["median"]
        lines.append(
            f"| {name} `{page['path']}` | {queries(small, before['path'])}; {queries(large, page['path'])} | "
            f"{before['median']:.1f} | {before['p95']:.1f} | {page['median']:.1f} | {page['p95']:.1f} | "
            f"{ratio:.2f}× | {before['cold']['median']:.1f}; {page['cold']['median']:.1f} |"
        )
    flagship = large["pages"]["largest partnership"]
    floor = large["floor"]
    lines += [
        "",
        "Warm: repeated requests, as readers mostly make them. Cold: the cache emptied before each request "
        f"({COLD_REPEATS} requests), the cost of the first view after a change anywhere in the register; the "
        "queries are counted both ways. Each page's query counts are the same on small and large data.",
        "",
        f"**SQL floor** of the largest partnership page ({floor['events']} public events, 25 members): one raw "
        f"psycopg2 query for the same data, median {floor['median']:.2f} ms (p95 {floor['p95']:.2f} ms) on large "
        f"data, {results['small']['floor']['median']:.2f} ms on small. The page's median is "
        f"**{flagship['median'] / floor['median']:.1f}×** the floor (goal ≤ 5×; page goal < 50 ms: "
        f"{'met' if flagship['median'] < 50 else 'NOT met'}).",
        "",
        f"**Load** on the largest partnership page (large data), each level for {LOAD_SECONDS:.0f} seconds:",
        "",
        "| concurrent clients | requests/s | requests | errors |",
        "|---|---|---|---|",
    ]
    for clients, load in large["load"].items():
        lines.append(f"| {clients} | {load['rps']:.0f} | {load['total']} | {load['errors']} |")
    lines += ["", "**Import** of event rows (bench/bench_import.py):", ""]
    if imports:
        lines += ["| resource | rows | seconds | rows/s | peak MB |", "|---|---|---|---|---|"]
        for which, row in imports.items():
            lines.append(f"| {which} | {row['rows']} | {row['seconds']:.1f} | {row['rps']} | {row['peak_mb']} |")
        if "ours" in imports and "plain" in imports:
            lines.append("")
            speed = {which: float(row["rps"].replace(",", "")) for which, row in imports.items()}
            lines.append(f"Ours imports {speed['ours'] / speed['plain']:.1f}× as many rows per second as plain.")
    else:
        lines.append("not measured (skipped, missing or failed; see the run's output).")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
