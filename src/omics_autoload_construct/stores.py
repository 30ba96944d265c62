"""HealthOmics sequence and reference stores: created with secure props, or imported by id."""

from __future__ import annotations

import re

from aws_cdk import ArnFormat, RemovalPolicy, Resource, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_omics as omics
from constructs import Construct

_STORE_NAME = re.compile(r"^[A-Za-z0-9\-_ .]{1,127}$")


def _sse(encryption_key: kms.IKey | None) -> dict[str, str]:
    if encryption_key is None:
        return {"type": "KMS"}  # AWS owned key: HealthOmics encrypts every store
    return {"type": "KMS", "key_arn": encryption_key.key_arn}


class SequenceStore(Resource):
    """A HealthOmics sequence store, the home of the imported read sets.

    Create one with the constructor, or refer to an existing store with
    :meth:`from_sequence_store_id`.
    """

    sequence_store_id: str
    sequence_store_arn: str

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        sequence_store_name: str | None = None,
        description: str | None = None,
        encryption_key: kms.IKey | None = None,
        fallback_location: str | None = None,
        e_tag_algorithm_family: str | None = None,
        access_log_location: str | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        """
        :param sequence_store_name: store name. Default: the construct path, made unique.
        :param description: store description. Default: none.
        :param encryption_key: customer-managed KMS key. Default: an AWS owned key.
        :param fallback_location: ``s3://`` URI where HealthOmics puts files it cannot
            import as read sets. Default: none.
        :param e_tag_algorithm_family: ``MD5up``, ``SHA256up`` or ``SHA512up``. Default:
            the service default (MD5up).
        :param access_log_location: ``s3://`` URI for S3 access logs of the store.
            Default: none.
        :param removal_policy: what happens to the store (and every read set in it) when
            it leaves the stack. Default: RETAIN.
        """
        super().__init__(scope, id)
        problems = []
        if sequence_store_name is not None and not _STORE_NAME.match(sequence_store_name):
            problems.append(
                f"sequence_store_name {sequence_store_name!r} must be 1-127 characters of letters, digits, space, '-', '_', '.'"
            )
        if e_tag_algorithm_family not in (None, "MD5up", "SHA256up", "SHA512up"):
            problems.append(
                f"e_tag_algorithm_family {e_tag_algorithm_family!r} must be one of MD5up, SHA256up, SHA512up"
            )
        for label, uri in (("fallback_location", fallback_location), ("access_log_location", access_log_location)):
            if uri is not None and not uri.startswith("s3://"):
                problems.append(f"{label} {uri!r} must be an s3:// URI")
        if problems:
            raise ValueError("invalid SequenceStore props:\n- " + "\n- ".join(problems))
        name = sequence_store_name or self.node.path.replace("/", "-")[-127:]
        self._resource = omics.CfnSequenceStore(
            self,
            "Resource",
            name=name,
            description=description,
            sse_config=_sse(encryption_key),
            fallback_location=fallback_location,
            e_tag_algorithm_family=e_tag_algorithm_family,
            access_log_location=access_log_location,
        )
        self._resource.apply_removal_policy(removal_policy)
        self.sequence_store_id = self._resource.attr_sequence_store_id
        self.sequence_store_arn = self._resource.attr_arn

    @staticmethod
    def from_sequence_store_id(scope: Construct, id: str, sequence_store_id: str) -> "SequenceStore":
        """Refer to a sequence store made elsewhere."""
        return _ImportedSequenceStore(scope, id, sequence_store_id)  # type: ignore[return-value]


class _ImportedSequenceStore(Resource):
    def __init__(self, scope: Construct, id: str, sequence_store_id: str) -> None:
        super().__init__(scope, id)
        self.sequence_store_id = sequence_store_id
        self.sequence_store_arn = Stack.of(self).format_arn(
            service="omics",
            resource="sequenceStore",
            resource_name=sequence_store_id,
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )


class ReferenceStore(Resource):
    """A HealthOmics reference store (one per account and Region is allowed)."""

    reference_store_id: str
    reference_store_arn: str

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        reference_store_name: str | None = None,
        description: str | None = None,
        encryption_key: kms.IKey | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        """
        :param reference_store_name: store name. Default: the construct path.
        :param description: store description. Default: none.
        :param encryption_key: customer-managed KMS key. Default: an AWS owned key.
        :param removal_policy: Default: RETAIN.
        """
        super().__init__(scope, id)
        if reference_store_name is not None and not _STORE_NAME.match(reference_store_name):
            raise ValueError(
                f"reference_store_name {reference_store_name!r} must be 1-127 characters of letters, digits, space, '-', '_', '.'"
            )
        self._resource = omics.CfnReferenceStore(
            self,
            "Resource",
            name=reference_store_name or self.node.path.replace("/", "-")[-127:],
            description=description,
            sse_config=_sse(encryption_key),
        )
        self._resource.apply_removal_policy(removal_policy)
        self.reference_store_id = self._resource.attr_reference_store_id
        self.reference_store_arn = self._resource.attr_arn

    @staticmethod
    def from_reference_store_id(scope: Construct, id: str, reference_store_id: str) -> "ReferenceStore":
        """Refer to a reference store made elsewhere."""
        return _ImportedReferenceStore(scope, id, reference_store_id)  # type: ignore[return-value]


class _ImportedReferenceStore(Resource):
    def __init__(self, scope: Construct, id: str, reference_store_id: str) -> None:
        super().__init__(scope, id)
        self.reference_store_id = reference_store_id
        self.reference_store_arn = Stack.of(self).format_arn(
            service="omics",
            resource="referenceStore",
            resource_name=reference_store_id,
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )


__all__ = ["ReferenceStore", "SequenceStore"]
