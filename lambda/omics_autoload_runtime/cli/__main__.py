"""``python -m omics_autoload_runtime.cli``."""

import sys

from omics_autoload_runtime.cli.main import main

sys.exit(main())
