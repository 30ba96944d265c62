"""Benchmarks of omics-autoload-construct (issue 8): ``./scripts/run-benchmark``.

Importing the package puts ``src/``, ``lambda/`` and ``tests/`` (the end-to-end harness in
``tests/support``) on the import path and sets an offline AWS environment (``_paths``).
"""

from benchmarks import _paths  # noqa: F401
