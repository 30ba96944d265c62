"""Benchmarks of omics-autoload-construct (issue 8): ``./scripts/run-benchmark``."""
