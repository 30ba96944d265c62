"""Listings and small helpers the domain tests share: S3 folders, a reference ARN, plan views."""

from omics_autoload_runtime.domain.planning import Plan
from omics_autoload_runtime.domain.read_sets import ReadSet

RUN1 = "s3://bucket/run1/"
RUN2 = "s3://bucket/run2/"
REF = "arn:aws:omics:us-east-1:123456789012:referenceStore/1234567890/reference/9876543210"


def uris(*names, folder=RUN1):
    return [folder + name for name in names]


def only_read_set(result: Plan) -> ReadSet:
    assert not result.skipped, result.skipped
    assert len(result.read_sets) == 1, result.read_sets
    return result.read_sets[0]


def reasons(result: Plan) -> dict[str, str]:
    return {skip.uri.rpartition("/")[2]: skip.reason for skip in result.skipped}
