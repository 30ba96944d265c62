"""Generated files are committed and must match their generators."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, check=True, capture_output=True)
    return [f for f in out.stdout.decode().split("\0") if f]


def test_api_md_is_up_to_date(tmp_path):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    fresh = tmp_path / "repo"
    shutil.copytree(REPO / "src", fresh / "src")
    shutil.copytree(REPO / "scripts", fresh / "scripts")
    # Settings and the contract are documented from the runtime package.
    shutil.copytree(REPO / "lambda", fresh / "lambda", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(["bash", "scripts/gen-api-docs"], cwd=fresh, check=True, env=env)
    assert (fresh / "API.md").read_text() == (REPO / "API.md").read_text(), (
        "API.md is stale: run scripts/gen-api-docs and commit it"
    )


@pytest.mark.slow
def test_projen_rewrites_nothing_on_a_clean_checkout(tmp_path):
    checkout = tmp_path / "checkout"
    for name in _tracked_files():
        target = checkout / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (REPO / name).is_file():
            shutil.copy2(REPO / name, target)
    subprocess.run(["git", "init", "-q"], cwd=checkout, check=True)
    before = {name: (checkout / name).read_bytes() for name in _tracked_files() if (checkout / name).is_file()}
    env = {**os.environ, "PROJEN_DISABLE_POST": "1"}
    subprocess.run([sys.executable, ".projenrc.py"], cwd=checkout, check=True, env=env, capture_output=True)
    changed = [name for name, data in before.items() if (checkout / name).read_bytes() != data]
    created = sorted(
        str(p.relative_to(checkout)) for p in checkout.rglob("*")
        if p.is_file() and ".git" not in p.parts and str(p.relative_to(checkout)) not in before
    )
    assert changed == [] and created == []
