"""Tests of the `omics-autoload` command line (lambda/omics_autoload_runtime/cli)."""
