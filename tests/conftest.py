import os
import shutil
import tempfile

import pytest

# jsii prints a banner on Node 20; moto's DynamoDB Streams need the account-id endpoint
# mode off with boto3 1.44; no test may reach a real AWS account.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.pop("AWS_PROFILE", None)

FAULT_CLEAN_RUNS = "OMICS_FAULT_CLEAN_RUNS"  # support.fault_scenarios.SHARED_ENV


def pytest_configure(config):
    """One directory for the session's fault-injection clean runs, made before xdist starts
    its workers (they inherit the environment), so that no two workers run the same one.
    Set it yourself to keep the clean runs between sessions (they are keyed by a digest of
    the sources)."""
    if os.environ.get("PYTEST_XDIST_WORKER") or FAULT_CLEAN_RUNS in os.environ:
        return
    directory = tempfile.mkdtemp(prefix="omics-fault-clean-runs-")
    os.environ[FAULT_CLEAN_RUNS] = directory

    def forget():
        os.environ.pop(FAULT_CLEAN_RUNS, None)
        shutil.rmtree(directory, ignore_errors=True)

    config.add_cleanup(forget)


@pytest.fixture(autouse=True, scope="session")
def _light_moto_transactions():
    """moto's TransactWriteItems deep-copies the whole table, stream records included, on
    every call: long e2e runs spent most of their time there (``support.faults``)."""
    from support.faults import light_transactions

    with light_transactions():
        yield


@pytest.fixture(autouse=True, scope="session")
def _faster_sdk():
    """botocore parsed its models and moto chose attribute names again for every call:
    a third of the e2e and CLI tests' time (``support.sdk_speed``)."""
    from support.sdk_speed import faster_sdk

    with faster_sdk():
        yield
