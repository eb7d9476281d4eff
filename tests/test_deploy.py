"""The deploy of docs/operations.md, performed by `make deploy-check` against the local services."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.deploy
def test_the_documented_deploy_works_from_an_empty_database():
    """Fresh database, production settings, migrate, collectstatic, reference data, first
    administrator, check --deploy, web + worker + beat from the Procfile, smoke requests, stop."""
    result = subprocess.run(  # noqa: S603
        [sys.executable, str(ROOT / "scripts" / "deploy_check.py")],
        capture_output=True,
        text=True,
        timeout=1500,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "deploy check passed" in result.stdout
    documented = (ROOT / "docs" / "operations.md").read_text()
    for command in ("migrate --noinput", "collectstatic --noinput", "load_municipalities", "createsuperuser --noinput"):
        # The steps the check performed (it prints each) are the steps the document tells.
        assert f"manage.py {command}" in documented and f"manage.py {command}" in result.stdout
