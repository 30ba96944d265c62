"""What the construct adds at synthesis and at a handler's cold start.

* ``cdk synth``: the example app (``examples/app.py``: a stack with ``OmicsAutoLoad`` and
  the three cdk-nag packs) and the same app with an empty stack, each synthesized in a
  fresh Python process (what ``cdk synth`` runs: ``python app.py``), timed end to end;
  the median of a few repetitions.
* cold-start import time of each handler: ``python -X importtime`` importing the
  handler's module from the STAGED Lambda asset, boto3 imported first (it is in the
  Lambda runtime and loaded by any function that calls AWS); the sum of the self times
  of the ``omics_autoload_runtime`` modules, and of everything the import pulls in
  beyond boto3; the median of a few repetitions.
* asset size per function: the staged asset directory each function's code points to
  (bytes on disk and as a zip, which is what Lambda stores).
"""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from benchmarks import _paths

REPO = _paths.REPO
RUNTIME_PACKAGE = "omics_autoload_runtime"
_MARK = "@@boto3-loaded@@"

_APP = """
import sys
sys.path[:0] = {paths!r}
import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks
app = cdk.App(outdir={outdir!r})
stack = cdk.Stack(app, "SequencingIngest")
if {with_construct!r}:
    from omics_autoload_construct import OmicsAutoLoad
    OmicsAutoLoad(stack, "AutoLoad")
for pack in (AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks):
    cdk.Validations.of(app).add_plugins(pack(app))
app.synth()
"""


def _synth_once(with_construct: bool) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as outdir:
        script = _APP.format(
            paths=[str(REPO / "src"), str(REPO / "lambda")], outdir=outdir, with_construct=with_construct
        )
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, env=os.environ.copy()
        )
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(
                f"synth failed ({'with' if with_construct else 'without'} the construct):\n{done.stderr[-2000:]}"
            )
        return elapsed


def synth_times(repetitions: int = 3) -> dict[str, Any]:
    with_times, without_times = [], []
    for _ in range(repetitions):  # interleaved, so load changes hit both alike
        without_times.append(_synth_once(False))
        with_times.append(_synth_once(True))
    with_median, without_median = statistics.median(with_times), statistics.median(without_times)
    return {
        "repetitions": repetitions,
        "with_construct_s": round(with_median, 2),
        "without_construct_s": round(without_median, 2),
        "difference_s": round(with_median - without_median, 2),
        "ratio": round(with_median / without_median, 2),
        "all_with_s": [round(t, 2) for t in with_times],
        "all_without_s": [round(t, 2) for t in without_times],
        "what": "python app.py in a fresh process (CDK app + cdk-nag AwsSolutions, HIPAA Security, "
        "NIST 800-53 R5 packs), empty stack vs OmicsAutoLoad with defaults",
    }


def _importtime(asset_dir: Path, module: str) -> tuple[float, float, list[str]]:
    """(ms of the package's modules, ms of everything beyond boto3, package modules imported)."""
    code = (
        "import sys, boto3; boto3.session.Session(region_name='us-east-1'); "
        f"sys.stderr.write('{_MARK}\\n'); sys.stderr.flush(); import {module}"
    )
    env = {**os.environ, "PYTHONPATH": str(asset_dir), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, env=env, cwd=asset_dir
    )
    if done.returncode != 0:
        raise RuntimeError(f"importing {module} failed: {done.stderr[-1500:]}")
    own = beyond = 0.0
    modules = []
    seen_boto3 = False
    for line in done.stderr.splitlines():
        if line.strip() == _MARK:
            seen_boto3 = True
            continue
        if not seen_boto3 or not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _, name = (part.strip() for part in line[len("import time:") :].split("|"))
        name_root = name.strip().split(".")[0]
        beyond += int(self_us) / 1000
        if name_root == RUNTIME_PACKAGE:
            own += int(self_us) / 1000
            modules.append(name.strip())
    return own, beyond, modules


def cold_start(outdir: Path, repetitions: int = 5) -> dict[str, Any]:
    """Import time and asset size of every function of the synthesized example app."""
    template = json.loads((outdir / "SequencingIngest.template.json").read_text())
    functions = {
        logical_id: resource["Properties"]
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
    }
    per_function: dict[str, Any] = {}
    assets: dict[str, Any] = {}
    for logical_id, props in sorted(functions.items()):
        handler = props.get("Handler", "")
        key = (props.get("Code") or {}).get("S3Key") or ""
        asset_hash = key.removesuffix(".zip")
        asset_dir = outdir / f"asset.{asset_hash}"
        if not handler.startswith(RUNTIME_PACKAGE) or not asset_dir.is_dir():
            continue  # CDK's own helper functions (bucket notifications...)
        if asset_hash not in assets:
            assets[asset_hash] = _asset_size(asset_dir)
        module = handler.rsplit(".", 1)[0]
        runs = [_importtime(asset_dir, module) for _ in range(repetitions)]
        per_function[logical_id] = {
            "handler": handler,
            "asset": asset_hash[:12],
            "import_ms_package": round(statistics.median(r[0] for r in runs), 1),
            "import_ms_beyond_boto3": round(statistics.median(r[1] for r in runs), 1),
            "package_modules": len(runs[0][2]),
            "asset_bytes": assets[asset_hash]["bytes"],
            "asset_zip_bytes": assets[asset_hash]["zip_bytes"],
        }
    return {
        "functions": per_function,
        "assets": {k[:12]: v for k, v in assets.items()},
        "shared_asset": len(assets) == 1,
        "repetitions": repetitions,
        "python": sys.version.split()[0],
        "note": "Lambda runs python3.14; measured with this machine's interpreter, boto3 pre-imported",
    }


def _asset_size(asset_dir: Path) -> dict[str, Any]:
    files = [p for p in asset_dir.rglob("*") if p.is_file()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(files):
            archive.write(path, path.relative_to(asset_dir).as_posix())
    return {"files": len(files), "bytes": sum(p.stat().st_size for p in files), "zip_bytes": buffer.tell()}
