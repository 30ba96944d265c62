"""Where the handler code comes from, in the source tree and in an installed wheel.

The handlers live in the ``omics_autoload_runtime`` package (``lambda/`` in the source
tree). A Lambda asset must be a directory holding only what the function needs, so the
package is copied into a private staging directory whose only entry is the package
itself, less the ``cli`` folder; functions are addressed as
``omics_autoload_runtime.handlers.<module>.handler``.
The asset hash depends on file contents only, so synthesis stays deterministic.
"""

from __future__ import annotations

import functools
import importlib.util
import shutil
import tempfile
from pathlib import Path

from aws_cdk import aws_lambda as lambda_

RUNTIME_PACKAGE = "omics_autoload_runtime"
PYTHON_RUNTIME = lambda_.Runtime.PYTHON_3_14


def runtime_package_dir() -> Path:
    spec = importlib.util.find_spec(RUNTIME_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"cannot find the '{RUNTIME_PACKAGE}' package that holds the Lambda handlers: "
            "reinstall omics-autoload-construct (pip install --force-reinstall omics-autoload-construct)"
        )
    return Path(next(iter(spec.submodule_search_locations)))


@functools.cache
def _staged_asset_dir() -> str:
    stage = Path(tempfile.mkdtemp(prefix="omics-autoload-asset-"))
    shutil.copytree(
        runtime_package_dir(),
        stage / RUNTIME_PACKAGE,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "cli"),
    )
    return str(stage)


def handler_code() -> lambda_.Code:
    """The one asset every function of the construct shares."""
    return lambda_.Code.from_asset(_staged_asset_dir())
