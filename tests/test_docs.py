"""The documentation keeps up with the code: every setting is documented once, and the README
stays a front door that links every document."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV_READ = re.compile(r"""(?:os\.environ\.get|os\.getenv|env_bool|env_int|env_list)\(\s*["']([A-Z][A-Z0-9_]*)["']""")
PROCFILE_VARIABLE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)")


def variables_read() -> set[str]:
    """Every environment variable portal/settings.py and the gunicorn configuration read, and those
    the Procfile passes on."""
    settings = ENV_READ.findall((ROOT / "portal" / "settings.py").read_text())
    settings += ENV_READ.findall((ROOT / "portal" / "gunicorn.conf.py").read_text())
    procfile = PROCFILE_VARIABLE.findall((ROOT / "Procfile").read_text())
    return set(settings) | set(procfile)


def configuration_table() -> list[str]:
    """The variable names in the first column of the table under "## Configuration", in order."""
    text = (ROOT / "docs" / "operations.md").read_text()
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    names = []
    for line in section.splitlines():
        cells = line.split("|")
        if line.startswith("|") and len(cells) > 2 and not set(cells[1].strip()) <= {"-", " "}:
            names += re.findall(r"`([A-Z][A-Z0-9_]*)`", cells[1])
    return names


def test_the_variable_finder_sees_every_kind_of_read():
    assert variables_read() >= {"DJANGO_SECRET_KEY", "DJANGO_DEBUG", "DJANGO_ALLOWED_HOSTS", "DATABASE_CONN_MAX_AGE"}
    assert variables_read() >= {"PORT", "WEB_CONCURRENCY", "CELERY_CONCURRENCY", "CELERY_BEAT_SCHEDULE_FILE"}


def test_the_configuration_table_lists_every_variable_read_once():
    documented = configuration_table()
    twice = sorted({name for name in documented if documented.count(name) > 1})
    assert not twice, f"listed more than once in docs/operations.md: {twice}"
    read = variables_read()
    assert sorted(read - set(documented)) == [], "read but not documented in docs/operations.md"
    assert sorted(set(documented) - read) == [], "documented in docs/operations.md but never read"


def test_the_documented_schedule_is_the_beat_schedule():
    from django.conf import settings

    operations = (ROOT / "docs" / "operations.md").read_text()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        task = entry["task"].rsplit(".", 1)[1]
        assert f"| `{task}` |" in operations, f"{task} is missing from the schedule in docs/operations.md"


def test_the_readme_is_a_front_door_that_links_every_document():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 150
    linked = set(re.findall(r"\]\((docs/[^)#]+)", readme))
    documents = {f"docs/{path.name}" for path in (ROOT / "docs").glob("*.md")}
    assert documents - linked == set(), "not linked from README.md"
    assert "](bench/results.md)" in readme


def test_links_between_documents_point_to_files_that_exist():
    for document in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", document.read_text()):
            assert (document.parent / target).exists(), f"{document.name} links to {target}, which does not exist"
