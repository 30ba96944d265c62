"""Import paths and environment for the benchmark processes (import this module first).

The benchmark runs the real handlers (``lambda/``), the construct (``src/``) and the
end-to-end harness of the test suite (``tests/support``), offline: no AWS account.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

for _sub in ("tests", "lambda", "src"):
    _path = str(REPO / _sub)
    if _path not in sys.path:
        sys.path.insert(0, _path)

# Same settings as tests/conftest.py: no real AWS account is ever reached.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_SESSION_TOKEN", None)
