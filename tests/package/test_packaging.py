"""The wheel a user installs works on its own: handler code included, no source tree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

USER_APP = textwrap.dedent(
    """
    import aws_cdk as cdk
    from omics_autoload_construct import OmicsAutoLoad

    app = cdk.App(outdir="cdk.out")
    stack = cdk.Stack(app, "UserStack")
    OmicsAutoLoad(stack, "AutoLoad")
    app.synth()
    """
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    outdir = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(outdir), str(REPO)],
        check=True,
        capture_output=True,
    )
    (path,) = outdir.glob("*.whl")
    return path


def test_the_wheel_ships_the_handler_code_and_metadata(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = next(n for n in names if n.endswith("METADATA"))
        meta_text = archive.read(metadata).decode()
        entry_points = archive.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    handlers = sorted(n for n in names if n.startswith("omics_autoload_runtime/") and n.endswith(".py"))
    for layer in ("domain", "adapters", "logic", "handlers", "cli"):
        assert f"omics_autoload_runtime/{layer}/__init__.py" in handlers, layer
    assert "omics_autoload_construct/py.typed" in names
    assert not any(n.startswith(("tests/", "examples/")) for n in names)
    assert "Requires-Python: >=3.11" in meta_text
    assert "Requires-Dist: aws-cdk-lib<3.0.0,>=2.275.0" in meta_text
    assert "omics-autoload = omics_autoload_runtime.cli.main:main" in entry_points


@pytest.mark.slow
def test_installed_wheel_synthesizes_a_user_app_outside_the_repository(wheel, tmp_path):
    venv = tmp_path / "venv"
    # The venv gets no pip of its own: this pip installs into it (--python). No bytecode
    # either: compiling all of aws-cdk-lib took ~35 s; the app compiles what it imports.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-compile", str(wheel)],
        check=True,
        capture_output=True,
    )
    app_dir = tmp_path / "user-app"
    app_dir.mkdir()
    (app_dir / "app.py").write_text(USER_APP)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = subprocess.run(
        [str(python), "app.py"], cwd=app_dir, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    template = json.loads((app_dir / "cdk.out" / "UserStack.template.json").read_text())
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert functions, "the construct should create its handler functions"
    assets = [p for p in (app_dir / "cdk.out").glob("asset.*") if p.is_dir()]
    shipped = {str(p.relative_to(a)) for a in assets for p in a.rglob("*.py")}
    assert "omics_autoload_runtime/handlers/intake.py" in shipped
    assert not any(name.startswith("omics_autoload_runtime/cli/") for name in shipped), "the CLI is not a handler"
    # The handlers come from the installed package, not from this source tree.
    assert str(REPO) not in (app_dir / "cdk.out" / "UserStack.template.json").read_text()
