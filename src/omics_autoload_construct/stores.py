"""HealthOmics sequence and reference stores: created with secure props, or imported by id.

Both wrap the CloudFormation resources (``AWS::Omics::SequenceStore``,
``AWS::Omics::ReferenceStore``) with typed, validated props. Each class has a
``from_*_id`` method that refers to a store made elsewhere; code that accepts either
kind should type its parameter with the :class:`ISequenceStore` / :class:`IReferenceStore`
protocols.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Protocol, runtime_checkable

from aws_cdk import ArnFormat, RemovalPolicy, Resource, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_omics as omics
from constructs import Construct, Node
from omics_autoload_runtime.domain.limits import service_length

#: The service's text pattern ``[\p{L}\p{M}\p{Z}\p{S}\p{N}\p{P}]+``: no control characters.
_TEXT_CATEGORIES = frozenset("LMZSNP")
_BUCKET = r"[a-z0-9][a-z0-9-.]{1,61}[a-z0-9]"
# CreateSequenceStore: fallbackLocation / s3AccessConfig.accessLogLocation (botocore model).
_FALLBACK_LOCATION = re.compile(rf"s3://{_BUCKET}/?((.{{1,1024}})/)?")
_ACCESS_LOG_LOCATION = re.compile(rf"s3://{_BUCKET}/?((.{{1,800}})/)?")
E_TAG_ALGORITHM_FAMILIES = ("MD5up", "SHA256up", "SHA512up")


def _is_service_text(value: str) -> bool:
    """Whether every character is allowed by the HealthOmics text pattern (no control chars)."""
    return all(unicodedata.category(c)[0] in _TEXT_CATEGORIES for c in value)


def _text_problems(label: str, value: str | None, low: int, high: int) -> list[str]:
    """Problems of a HealthOmics name/description: length ``low..high``, no control chars."""
    if value is None or Token.is_unresolved(value):
        return []
    problems = []
    length = service_length(value)
    if not low <= length <= high:
        problems.append(f"{label} {value!r} must be {low}-{high} characters long (it has {length})")
    if not _is_service_text(value):
        problems.append(f"{label} {value!r} must not contain control characters (tabs, newlines)")
    return problems


def _default_name(scope: Construct) -> str:
    return scope.node.path.replace("/", "-")[-127:]


def _sse(encryption_key: kms.IKey | None) -> omics.CfnSequenceStore.SseConfigProperty:
    # HealthOmics always encrypts; without a key it uses an AWS owned key.
    return omics.CfnSequenceStore.SseConfigProperty(
        type="KMS", key_arn=encryption_key.key_arn if encryption_key else None
    )


def _raise(kind: str, problems: list[str]) -> None:
    if problems:
        raise ValueError(f"invalid {kind} props:\n- " + "\n- ".join(problems))


def _grant(grantee: iam.IGrantable, store_arn: str, actions: tuple[str, ...]) -> iam.Grant:
    return iam.Grant.add_to_principal(
        grantee=grantee, actions=list(actions), resource_arns=[store_arn, f"{store_arn}/*"]
    )


# --------------------------------------------------------------------------- sequence store


@runtime_checkable
class ISequenceStore(Protocol):
    """A sequence store, created here (:class:`SequenceStore`) or imported by id."""

    @property
    def node(self) -> Node:
        """The construct tree node."""
        ...

    @property
    def sequence_store_id(self) -> str:
        """The store id (digits)."""
        ...

    @property
    def sequence_store_arn(self) -> str:
        """``arn:<partition>:omics:<region>:<account>:sequenceStore/<id>``."""
        ...

    def grant(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        """Allow ``actions`` on the store and everything in it (its read sets)."""
        ...


class SequenceStore(Resource):
    """A HealthOmics sequence store, the home of the imported read sets.

    Example::

        store = SequenceStore(stack, "Store", encryption_key=key,
                              fallback_location=f"s3://{bucket.bucket_name}/fallback/")

    Refer to an existing store with :meth:`from_sequence_store_id`.
    """

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
        propagated_set_level_tags: list[str] | None = None,
        tags: dict[str, str] | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        """
        :param sequence_store_name: store name, 1-127 characters. Default: the construct
            path with ``/`` replaced by ``-`` (its last 127 characters).
        :param description: store description, 1-255 characters. Default: none.
        :param encryption_key: customer-managed KMS key that encrypts the store.
            Default: an AWS owned key (HealthOmics always encrypts).
        :param fallback_location: ``s3://bucket/`` or ``s3://bucket/prefix/`` (ending in
            ``/``) where HealthOmics puts files it cannot store as read sets. Default: none.
        :param e_tag_algorithm_family: how read set ETags are computed: ``MD5up``,
            ``SHA256up`` or ``SHA512up``. Default: the service default (``MD5up``).
        :param access_log_location: ``s3://bucket/`` or ``s3://bucket/prefix/`` that
            receives the S3 access logs of the store's S3 access point. Default: none.
        :param propagated_set_level_tags: tag keys copied from the store to its read sets
            (at most 50). Default: none.
        :param tags: tags of the store. Default: none.
        :param removal_policy: what happens to the store, and every read set in it, when
            it leaves the stack. Default: RETAIN.
        """
        super().__init__(scope, id)
        problems = _text_problems("sequence_store_name", sequence_store_name, 1, 127)
        problems += _text_problems("description", description, 1, 255)
        if e_tag_algorithm_family is not None and e_tag_algorithm_family not in E_TAG_ALGORITHM_FAMILIES:
            problems.append(
                f"e_tag_algorithm_family {e_tag_algorithm_family!r} must be one of "
                + ", ".join(E_TAG_ALGORITHM_FAMILIES)
            )
        for label, uri, pattern in (
            ("fallback_location", fallback_location, _FALLBACK_LOCATION),
            ("access_log_location", access_log_location, _ACCESS_LOG_LOCATION),
        ):
            if uri is not None and not Token.is_unresolved(uri) and not pattern.fullmatch(uri):
                problems.append(
                    f"{label} {uri!r} must be s3://<bucket>/ or s3://<bucket>/<prefix>/ (a prefix ends with '/')"
                )
        if propagated_set_level_tags is not None and len(propagated_set_level_tags) > 50:
            problems.append(f"propagated_set_level_tags has {len(propagated_set_level_tags)} keys: at most 50")
        if removal_policy == RemovalPolicy.SNAPSHOT:
            problems.append(
                "removal_policy SNAPSHOT is not supported by AWS::Omics::SequenceStore: use RETAIN or DESTROY"
            )
        _raise("SequenceStore", problems)

        self._resource = omics.CfnSequenceStore(
            self,
            "Resource",
            name=sequence_store_name or _default_name(self),
            description=description,
            sse_config=_sse(encryption_key),
            fallback_location=fallback_location,
            e_tag_algorithm_family=e_tag_algorithm_family,
            access_log_location=access_log_location,
            propagated_set_level_tags=propagated_set_level_tags,
            tags=tags,
        )
        self._resource.apply_removal_policy(removal_policy)
        self.encryption_key = encryption_key
        self._sequence_store_id = self._resource.attr_sequence_store_id
        self._sequence_store_arn = self._resource.attr_arn

    @property
    def sequence_store_id(self) -> str:
        """The store id (a token)."""
        return self._sequence_store_id

    @property
    def sequence_store_arn(self) -> str:
        """The store ARN (a token)."""
        return self._sequence_store_arn

    @property
    def s3_uri(self) -> str:
        """The S3 URI of the store's access point (read sets can be read through it)."""
        return self._resource.attr_s3_uri

    @property
    def s3_access_point_arn(self) -> str:
        """The ARN of the store's S3 access point."""
        return self._resource.attr_s3_access_point_arn

    def grant(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        """Allow ``actions`` (e.g. ``omics:GetReadSetMetadata``) on the store and its read sets."""
        return _grant(grantee, self.sequence_store_arn, actions)

    @staticmethod
    def from_sequence_store_id(scope: Construct, id: str, sequence_store_id: str) -> ISequenceStore:
        """Refer to a sequence store made elsewhere (in this stack's account and Region).

        :param sequence_store_id: the store id: 10-36 digits.
        """
        problems = []
        if not Token.is_unresolved(sequence_store_id) and not re.fullmatch(r"[0-9]{10,36}", sequence_store_id):
            problems.append(f"sequence_store_id {sequence_store_id!r} must be 10-36 digits")
        _raise("SequenceStore.from_sequence_store_id", problems)
        return _ImportedSequenceStore(scope, id, sequence_store_id)


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

    def grant(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        return _grant(grantee, self.sequence_store_arn, actions)


# --------------------------------------------------------------------------- reference store


@runtime_checkable
class IReferenceStore(Protocol):
    """A reference store, created here (:class:`ReferenceStore`) or imported by id."""

    @property
    def node(self) -> Node:
        """The construct tree node."""
        ...

    @property
    def reference_store_id(self) -> str:
        """The store id (digits)."""
        ...

    @property
    def reference_store_arn(self) -> str:
        """``arn:<partition>:omics:<region>:<account>:referenceStore/<id>``."""
        ...

    def grant(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        """Allow ``actions`` on the store and everything in it (its references)."""
        ...


class ReferenceStore(Resource):
    """A HealthOmics reference store.

    HealthOmics allows **one reference store per account and Region**: when the account
    already has one, refer to it with :meth:`from_reference_store_id` instead of
    creating another (the deployment would fail).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        reference_store_name: str | None = None,
        description: str | None = None,
        encryption_key: kms.IKey | None = None,
        tags: dict[str, str] | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        """
        :param reference_store_name: store name, 1-127 characters. Default: the construct
            path with ``/`` replaced by ``-`` (its last 127 characters).
        :param description: store description, 1-255 characters. Default: none.
        :param encryption_key: customer-managed KMS key that encrypts the store.
            Default: an AWS owned key (HealthOmics always encrypts).
        :param tags: tags of the store. Default: none.
        :param removal_policy: what happens to the store when it leaves the stack (it can
            only be deleted once it holds no reference). Default: RETAIN.
        """
        super().__init__(scope, id)
        problems = _text_problems("reference_store_name", reference_store_name, 1, 127)
        problems += _text_problems("description", description, 1, 255)
        if removal_policy == RemovalPolicy.SNAPSHOT:
            problems.append(
                "removal_policy SNAPSHOT is not supported by AWS::Omics::ReferenceStore: use RETAIN or DESTROY"
            )
        _raise("ReferenceStore", problems)

        self._resource = omics.CfnReferenceStore(
            self,
            "Resource",
            name=reference_store_name or _default_name(self),
            description=description,
            sse_config=omics.CfnReferenceStore.SseConfigProperty(
                type="KMS", key_arn=encryption_key.key_arn if encryption_key else None
            ),
            tags=tags,
        )
        self._resource.apply_removal_policy(removal_policy)
        self.encryption_key = encryption_key
        self._reference_store_id = self._resource.attr_reference_store_id
        self._reference_store_arn = self._resource.attr_arn

    @property
    def reference_store_id(self) -> str:
        """The store id (a token)."""
        return self._reference_store_id

    @property
    def reference_store_arn(self) -> str:
        """The store ARN (a token)."""
        return self._reference_store_arn

    def grant(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        """Allow ``actions`` (e.g. ``omics:GetReferenceMetadata``) on the store and its
        references."""
        return _grant(grantee, self.reference_store_arn, actions)

    @staticmethod
    def from_reference_store_id(scope: Construct, id: str, reference_store_id: str) -> IReferenceStore:
        """Refer to a reference store made elsewhere (in this stack's account and Region).

        :param reference_store_id: the store id: 10-36 digits.
        """
        problems = []
        if not Token.is_unresolved(reference_store_id) and not re.fullmatch(r"[0-9]{10,36}", reference_store_id):
            problems.append(f"reference_store_id {reference_store_id!r} must be 10-36 digits")
        _raise("ReferenceStore.from_reference_store_id", problems)
        return _ImportedReferenceStore(scope, id, reference_store_id)


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

    def grant(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        return _grant(grantee, self.reference_store_arn, actions)


__all__ = [
    "E_TAG_ALGORITHM_FAMILIES",
    "IReferenceStore",
    "ISequenceStore",
    "ReferenceStore",
    "SequenceStore",
]
