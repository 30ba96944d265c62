"""``omics-autoload``: the command line (not shipped in the Lambda asset)."""

from .main import main

__all__ = ["main"]
