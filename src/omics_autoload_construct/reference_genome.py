"""``ReferenceGenome``: a FASTA in S3 imported into a HealthOmics reference store, its ARN in SSM.

CloudFormation has no resource for a HealthOmics reference, so a custom resource built
on the CDK Provider framework does the import: its ``onEvent`` function starts
``StartReferenceImportJob``, its ``isComplete`` function polls ``GetReferenceImportJob``
until the job ends. The handlers are ``omics_autoload_runtime.handlers.reference_provider``.

The reference ARN is published in an SSM parameter made by CloudFormation (an
``AWS::SSM::Parameter`` whose value is the custom resource's ``ReferenceArn``
attribute), not written by the handler: CloudFormation updates it when the reference is
replaced, deletes it with the stack, rolls it back with a failed deployment and shows
drift; the handler needs no SSM permission and there is no second copy of the state.

Lifecycle
---------
- Create imports the FASTA.
- Update that changes the FASTA (bucket or key), the reference name or the store imports
  a new reference: new physical id, so CloudFormation then deletes the old one, which
  the removal policy keeps (RETAIN, the default) or deletes (DESTROY). The parameter
  gets the new ARN.
- Update that changes nothing else (description, role, removal policy) imports nothing.
  HealthOmics cannot change a reference's description after the import: change the name
  to import again with a new description. Overwriting the FASTA object under the same key
  imports nothing either: change the key or the name.
- Delete keeps the reference (RETAIN) or deletes it and waits until it is gone (DESTROY),
  so that a reference store deleted in the same deployment is empty by then. If
  HealthOmics refuses the deletion (e.g. ``ConflictException``), the stack deletion
  fails with its message.
- The no-op check reads the physical id only: a reference deleted outside CloudFormation
  is not re-imported until the FASTA or the name changes.
- A failed import fails the deployment with the job's status message.
- A reference store runs one reference import at a time: while another import runs,
  the handler waits and retries the start at each poll instead of failing.

Contigs
-------
``contigs`` (name -> length, e.g. :attr:`Contigs.GRCH38`) and ``contig_md5s`` declare what
the FASTA holds, so that ``OmicsAutoLoad(references=...)`` can tell from a BAM's or CRAM's
``@SQ`` lines which reference it was aligned to. They are declared, not read from the
``.fai`` next to the FASTA at deployment: a custom resource returns at most 4 KiB, less
than the index of GRCh38 with its alt and decoy contigs, and a reference brought by ARN has
no FASTA here at all. The primary chromosomes alone tell the human assemblies apart.

Timing
------
``query_interval`` (default 30 s) and ``total_timeout`` (default 55 min) drive the
Provider's waiter state machine. CloudFormation waits at most one hour for a custom
resource (``ServiceTimeout`` 1-3600 s, and the Provider documents a one-hour maximum), so
``total_timeout`` cannot exceed one hour; 55 minutes lets the Provider report the timeout
itself, inside CloudFormation's hour. We found no published duration for reference
imports; plan for tens of minutes for a human assembly (GRCh38: ~3.1 Gbases, ~3 GB of
FASTA). If an import outlives the deployment, the deployment fails but the job keeps
running: deploy again and the handler adopts the running (or finished) job of this
resource instead of starting another. A longer wait per deployment is not possible with
a custom resource. A 30 s interval adds at most 30 s to a deployment and costs ~110 short Lambda
calls per hour of import, well within the 25,000-event history of the waiter's state
machine and the ~5 TPS GetReferenceImportJob quota.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from aws_cdk import (
    CustomResource,
    Duration,
    Fn,
    RemovalPolicy,
    Token,
)
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ssm as ssm
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import custom_resources as cr
from constructs import Construct, Node
from omics_autoload_runtime.domain import references as _known

from . import _defaults, _functions, _lambda_code, _nag
from .stores import IReferenceStore, ReferenceStore, _text_problems

#: Default time between two ``isComplete`` polls.
DEFAULT_QUERY_INTERVAL = Duration.seconds(30)
#: Default time the Provider waits for an import before failing the deployment.
DEFAULT_TOTAL_TIMEOUT = Duration.minutes(55)
#: CloudFormation waits at most one hour for a custom resource.
MAX_TOTAL_TIMEOUT = Duration.hours(1)
#: FASTA keys HealthOmics imports as a reference (case-insensitive).
FASTA_SUFFIXES = (".fasta.gz", ".fa.gz", ".fasta", ".fa")
REFERENCE_NAME_LENGTH = (3, 255)
RESOURCE_TYPE = "Custom::OmicsReference"

_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9-.]{1,61}[a-z0-9]")
_REFERENCE_ARN = re.compile(r"arn:aws[a-z-]*:omics:[a-z0-9-]+:\d{12}:referenceStore/(?P<store>\d+)/reference/\d+")
_SSM_NAME = re.compile(r"[A-Za-z0-9_.\-/]+")
_SSM_SEGMENT = re.compile(r"[^A-Za-z0-9_.\-]+")

ON_EVENT_HANDLER = f"{_lambda_code.RUNTIME_PACKAGE}.handlers.reference_provider.on_event"
IS_COMPLETE_HANDLER = f"{_lambda_code.RUNTIME_PACKAGE}.handlers.reference_provider.is_complete"

# Exact actions (policy_sentry: service "omics") and what each handler needs.
_STORE_ACTIONS = (
    "omics:StartReferenceImportJob",
    "omics:GetReferenceImportJob",
    "omics:ListReferenceImportJobs",
)
_REFERENCE_READ = ("omics:GetReferenceMetadata",)
_REFERENCE_DELETE = ("omics:DeleteReference",)


class Contigs:
    """Contig names and lengths of well-known human assemblies, for the ``contigs`` prop.

    Names are compared exactly with a file's ``@SQ SN:``: pick the set whose naming
    (``chr1`` or ``1``) your FASTA uses.
    """

    GRCH38: Mapping[str, int] = _known.GRCH38
    """GRCh38, UCSC names ``chr1``..``chr22``, ``chrX``, ``chrY``, ``chrM`` (Broad / NCBI analysis sets)."""
    GRCH38_ENSEMBL: Mapping[str, int] = _known.GRCH38_ENSEMBL
    """GRCh38, Ensembl names ``1``..``22``, ``X``, ``Y``, ``MT``."""
    GRCH37: Mapping[str, int] = _known.GRCH37
    """GRCh37 / b37 (1000 Genomes, Ensembl): ``1``..``22``, ``X``, ``Y``, ``MT`` (16,569 bases)."""
    HG19: Mapping[str, int] = _known.HG19
    """UCSC hg19: ``chr1``..``chr22``, ``chrX``, ``chrY``, ``chrM`` (16,571 bases)."""


def _contig_problems(contigs: Mapping[str, int] | None, md5s: Mapping[str, str] | None) -> list[str]:
    problems = []
    for name, length in (contigs or {}).items():
        if not isinstance(name, str) or not name or any(c.isspace() for c in name):
            problems.append(f"contigs: {name!r} is not a contig name (no spaces, not empty)")
        if isinstance(length, bool) or not isinstance(length, int) or length < 1:
            problems.append(f"contigs[{name!r}] must be a length in bases (a whole number above 0), not {length!r}")
    for name, md5 in (md5s or {}).items():
        if contigs is None or name not in contigs:
            problems.append(f"contig_md5s names {name!r}, which is not in contigs: declare its length too")
        if not (isinstance(md5, str) and re.fullmatch(r"[0-9a-fA-F]{32}", md5)):
            problems.append(f"contig_md5s[{name!r}] must be 32 hexadecimal digits (an @SQ M5 value), not {md5!r}")
    return problems


@runtime_checkable
class IReferenceGenome(Protocol):
    """A reference genome the pipeline can use: imported here or brought along.

    :class:`ReferenceGenome` and the objects returned by
    :meth:`ReferenceGenome.from_reference_arn` and
    :meth:`ReferenceGenome.from_parameter_name` all provide it.
    """

    @property
    def node(self) -> Node:
        """The construct tree node."""
        ...

    @property
    def reference_arn(self) -> str:
        """The reference ARN (usually a token, resolved at deployment)."""
        ...

    @property
    def parameter(self) -> ssm.IStringParameter | None:
        """The SSM parameter that holds the ARN, or ``None`` when there is none."""
        ...

    @property
    def parameter_name(self) -> str | None:
        """Name of that parameter, or ``None`` when there is none."""
        ...

    @property
    def reference_store_arn(self) -> str | None:
        """ARN of the reference store that holds the reference, when known."""
        ...

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to read the parameter (and nothing else)."""
        ...


def _grant_read(parameter: ssm.IStringParameter | None, grantee: iam.IGrantable) -> iam.Grant:
    if parameter is None:
        return iam.Grant.drop(grantee, "read the reference ARN (no parameter to read)")
    return parameter.grant_read(grantee)


class ReferenceGenome(Construct):
    """A FASTA reference imported from S3 into HealthOmics, its ARN published in SSM.

    Example::

        reference = ReferenceGenome(
            stack, "GRCh38",
            fasta_bucket=bucket,
            fasta_key="references/Homo_sapiens_assembly38.fasta",
            reference_store=ReferenceStore.from_reference_store_id(stack, "Refs", "1234567890"),
        )
        reference.grant_read(my_function)  # reads reference.parameter_name at run time

    Usable on its own, or passed to ``OmicsAutoLoad(reference=...)`` or, one of several,
    ``OmicsAutoLoad(references={"GRCh38": ...})`` (declare its ``contigs`` there). Refer to a
    reference imported elsewhere with :meth:`from_reference_arn` or
    :meth:`from_parameter_name`.

    See the module documentation for the update, delete and timeout semantics.
    """

    parameter: ssm.StringParameter
    """The SSM parameter that CloudFormation keeps equal to ``reference_arn``."""
    parameter_name: str
    """Name of that parameter: what the pipeline reads at run time."""
    reference_arn: str
    """ARN of the imported reference (the custom resource's ``ReferenceArn`` attribute)."""
    reference_id: str
    """Id of the imported reference (its ``ReferenceId`` attribute)."""
    reference_store: IReferenceStore
    """The store that holds the reference."""
    reference_store_arn: str
    """ARN of that store."""
    contigs: dict[str, int] | None
    """The ``contigs`` prop: what the FASTA holds (None when not declared)."""
    contig_md5s: dict[str, str]
    """The ``contig_md5s`` prop."""
    encryption_key: kms.IKey
    """The key of the store made here, the logs, the environments and the waiter: the
    ``encryption_key`` prop, or the customer-managed key made when none is given."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        fasta_bucket: s3.IBucket,
        fasta_key: str,
        reference_store: IReferenceStore | None = None,
        reference_name: str | None = None,
        description: str | None = None,
        parameter_name: str | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        encryption_key: kms.IKey | None = None,
        total_timeout: Duration | None = None,
        query_interval: Duration | None = None,
        log_retention: logs.RetentionDays = _defaults.DEFAULT_LOG_RETENTION,
        contigs: Mapping[str, int] | None = None,
        contig_md5s: Mapping[str, str] | None = None,
    ) -> None:
        """
        :param fasta_bucket: the bucket that holds the FASTA. When its objects are
            encrypted with a KMS key, the bucket must carry that key (a bucket made in
            CDK does; import one with ``Bucket.from_bucket_attributes(encryption_key=...)``)
            so that the import role may decrypt the FASTA.
        :param fasta_key: key of the FASTA object: ``.fa``, ``.fasta``, ``.fa.gz`` or
            ``.fasta.gz``. Only this object is readable by the import role.
        :param reference_store: where the reference goes. Default: a new
            ``ReferenceStore`` (encrypted with ``encryption_key``, same removal policy).
            HealthOmics allows one reference store per account and Region: in an account
            that has one, pass ``ReferenceStore.from_reference_store_id(...)``.
        :param reference_name: name of the reference, 3-255 characters. Default: the
            file name of ``fasta_key`` without its FASTA extension.
        :param description: description of the reference, 1-255 characters; set at
            import, not updatable. Default: none.
        :param parameter_name: name of the SSM parameter that receives the reference
            ARN. Default: ``/omics-autoload/<construct path>/reference-arn``.
        :param removal_policy: what happens to the reference when it is replaced or
            leaves the stack: RETAIN keeps it, DESTROY deletes it. Default: RETAIN.
        :param encryption_key: customer-managed KMS key for the reference store made by
            this construct, the log groups, the functions' environments and the
            Provider's waiter state machine. Default: a new customer-managed key with
            rotation on (``encryption_key`` attribute), as ``OmicsAutoLoad`` makes.
        :param total_timeout: how long a deployment waits for the import, at most one
            hour (CloudFormation's limit for a custom resource) and a whole multiple of
            ``query_interval``. Default: 55 minutes.
        :param query_interval: time between two polls of the import job. Default: 30
            seconds.
        :param log_retention: retention of the handlers' and the waiter's logs.
            Default: one year.
        :param contigs: the FASTA's contigs, name -> length in bases (all, or the primary
            chromosomes: e.g. :attr:`Contigs.GRCH38`), so that ``OmicsAutoLoad`` can match a
            BAM's or CRAM's ``@SQ`` lines against this reference. Default: not declared (the
            reference is used for aligned files without checking their header).
        :param contig_md5s: ``M5`` checksums of some of those contigs (name -> 32 hex
            digits), compared with the ``@SQ M5:`` tags a header carries. Default: none.
        """
        super().__init__(scope, id)
        query_interval = query_interval or DEFAULT_QUERY_INTERVAL
        total_timeout = total_timeout or DEFAULT_TOTAL_TIMEOUT
        name = reference_name if reference_name is not None else _name_from_key(fasta_key)
        problems = _fasta_problems(fasta_bucket, fasta_key)
        problems += _name_problems(reference_name, name, fasta_key)
        problems += _text_problems("description", description, 1, 255)
        if parameter_name is not None:
            problems += _parameter_name_problems(parameter_name)
        problems += _timing_problems(total_timeout, query_interval)
        problems += _contig_problems(contigs, contig_md5s)
        if removal_policy == RemovalPolicy.SNAPSHOT:
            problems.append("removal_policy SNAPSHOT is not supported for a reference: use RETAIN or DESTROY")
        if problems:
            raise ValueError("invalid ReferenceGenome props:\n- " + "\n- ".join(problems))
        assert name is not None
        destroy = removal_policy == RemovalPolicy.DESTROY

        # Secure by default like OmicsAutoLoad: a customer-managed key when none is given.
        encryption_key = encryption_key or _defaults.encryption_key(self, "Key", removal_policy=removal_policy)
        self.reference_store = reference_store or ReferenceStore(
            self, "ReferenceStore", encryption_key=encryption_key, removal_policy=removal_policy
        )
        self.reference_store_arn = self.reference_store.reference_store_arn
        self.reference_name = name
        self.contigs = dict(contigs) if contigs is not None else None
        self.contig_md5s = dict(contig_md5s or {})
        self.fasta_key = fasta_key
        self.encryption_key = encryption_key
        self.source_uri = f"s3://{fasta_bucket.bucket_name}/{fasta_key}"

        # The role HealthOmics assumes to read the FASTA: that object, nothing else.
        self.import_role = _defaults.omics_service_role(
            self, "ImportRole", description="HealthOmics reads the reference FASTA with this role"
        )
        self.import_role.add_to_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[fasta_bucket.arn_for_objects(fasta_key)])
        )
        if fasta_bucket.encryption_key is not None:
            self.import_role.add_to_policy(
                iam.PolicyStatement(actions=["kms:Decrypt"], resources=[fasta_bucket.encryption_key.key_arn])
            )
        _functions.grant_bucket_location(self.import_role, fasta_bucket)
        _acknowledge_import_role(self.import_role)

        # The Provider and its two handlers.
        _defaults.allow_logs_service(encryption_key, self)
        handler_logs = _defaults.log_group(
            self,
            "HandlerLogs",
            encryption_key=encryption_key,
            retention=log_retention,
            removal_policy=removal_policy,
        )
        self.on_event_function = self._handler("OnEvent", ON_EVENT_HANDLER, handler_logs, encryption_key)
        self.is_complete_function = self._handler("IsComplete", IS_COMPLETE_HANDLER, handler_logs, encryption_key)
        store_arn = self.reference_store.reference_store_arn
        reference_arns = [store_arn, f"{store_arn}/reference/*"]
        for function, deletes in ((self.on_event_function, destroy), (self.is_complete_function, False)):
            function.add_to_role_policy(iam.PolicyStatement(actions=list(_STORE_ACTIONS), resources=[store_arn]))
            actions = _REFERENCE_READ + (_REFERENCE_DELETE if deletes else ())
            function.add_to_role_policy(iam.PolicyStatement(actions=list(actions), resources=reference_arns))
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["iam:PassRole"],
                    resources=[self.import_role.role_arn],
                    conditions={"StringEquals": {"iam:PassedToService": "omics.amazonaws.com"}},
                )
            )
            _acknowledge_handler(function, reference_arns[1])

        framework_logs = _defaults.log_group(
            self,
            "ProviderLogs",
            encryption_key=encryption_key,
            retention=log_retention,
            removal_policy=removal_policy,
        )
        waiter_logs = _defaults.log_group(
            self,
            "WaiterLogs",
            encryption_key=encryption_key,
            retention=log_retention,
            removal_policy=removal_policy,
        )
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.on_event_function,
            is_complete_handler=self.is_complete_function,
            query_interval=query_interval,
            total_timeout=total_timeout,
            log_group=framework_logs,
            disable_waiter_state_machine_logging=False,
            # No execution data: the waiter's input holds CloudFormation's presigned URL.
            waiter_state_machine_log_options=cr.LogOptions(
                destination=waiter_logs, level=sfn.LogLevel.ALL, include_execution_data=False
            ),
            provider_function_env_encryption=encryption_key,
        )
        _encrypt_waiter(self.provider, encryption_key)
        _acknowledge_provider(self.provider, self.on_event_function, self.is_complete_function)

        properties = {
            "ReferenceStoreId": self.reference_store.reference_store_id,
            "SourceFile": self.source_uri,
            "ReferenceName": name,
            "RoleArn": self.import_role.role_arn,
            "RemovalPolicy": "destroy" if destroy else "retain",
        }
        if description is not None:
            properties["Description"] = description
        self.custom_resource = CustomResource(
            self,
            "Resource",
            service_token=self.provider.service_token,
            resource_type=RESOURCE_TYPE,
            properties=properties,
            # CloudFormation skips the Delete call altogether for a retained reference.
            removal_policy=removal_policy,
        )
        # HealthOmics assumes the role as soon as the job starts: its policy must exist.
        self.custom_resource.node.add_dependency(self.import_role)

        self.reference_arn = self.custom_resource.get_att_string("ReferenceArn")
        self.reference_id = self.custom_resource.get_att_string("ReferenceId")
        self.parameter_name = parameter_name or _default_parameter_name(self)
        self.parameter = ssm.StringParameter(
            self,
            "Parameter",
            parameter_name=self.parameter_name,
            string_value=self.reference_arn,
            description=f"ARN of the HealthOmics reference {name}"[:1024],
        )

    def _handler(self, id: str, handler: str, log_group: logs.ILogGroup, encryption_key: kms.IKey) -> lambda_.Function:
        return lambda_.Function(
            self,
            id,
            runtime=_lambda_code.PYTHON_RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            code=_lambda_code.handler_code(),
            handler=handler,
            description=f"omics-autoload-construct: reference import custom resource ({id})",
            environment={"AWS_RETRY_MODE": "standard", "AWS_MAX_ATTEMPTS": "6"},
            environment_encryption=encryption_key,
            timeout=Duration.minutes(2),
            memory_size=256,
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
        )

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to read the SSM parameter that holds the reference ARN.

        Grants the SSM read actions on that one parameter and nothing else.
        """
        return _grant_read(self.parameter, grantee)

    @staticmethod
    def from_reference_arn(
        scope: Construct,
        id: str,
        reference_arn: str,
        *,
        parameter_name: str | None = None,
        contigs: Mapping[str, int] | None = None,
        contig_md5s: Mapping[str, str] | None = None,
    ) -> IReferenceGenome:
        """Use a reference imported elsewhere, by ARN.

        :param reference_arn: ``arn:<partition>:omics:<region>:<account>:referenceStore/<id>/reference/<id>``.
        :param parameter_name: also publish the ARN in an SSM parameter of this name
            (created here). Default: no parameter; consumers take the ARN as it is.
        :param contigs: its contigs, name -> length (see ``ReferenceGenome``). Default: not declared.
        :param contig_md5s: ``M5`` checksums of some of them. Default: none.
        """
        problems = []
        if not Token.is_unresolved(reference_arn) and not _REFERENCE_ARN.fullmatch(reference_arn):
            problems.append(
                f"reference_arn {reference_arn!r} must look like "
                "arn:aws:omics:<region>:<account>:referenceStore/<id>/reference/<id>"
            )
        if parameter_name is not None:
            problems += _parameter_name_problems(parameter_name)
        problems += _contig_problems(contigs, contig_md5s)
        if problems:
            raise ValueError("invalid ReferenceGenome.from_reference_arn props:\n- " + "\n- ".join(problems))
        found = _ExistingReferenceGenome(scope, id, reference_arn=reference_arn, parameter_name=parameter_name)
        found.contigs, found.contig_md5s = (dict(contigs) if contigs is not None else None), dict(contig_md5s or {})
        return found

    @staticmethod
    def from_parameter_name(
        scope: Construct,
        id: str,
        parameter_name: str,
        *,
        contigs: Mapping[str, int] | None = None,
        contig_md5s: Mapping[str, str] | None = None,
    ) -> IReferenceGenome:
        """Use a reference whose ARN is in an existing SSM parameter.

        The pipeline reads the parameter at run time, so a new ARN written there is
        used without a deployment. ``reference_store_arn`` is ``None`` (not known).

        :param parameter_name: name of the existing ``String`` parameter.
        :param contigs: its contigs, name -> length (see ``ReferenceGenome``). Default: not declared.
        :param contig_md5s: ``M5`` checksums of some of them. Default: none.
        """
        problems = _parameter_name_problems(parameter_name) + _contig_problems(contigs, contig_md5s)
        if problems:
            raise ValueError("invalid ReferenceGenome.from_parameter_name props:\n- " + "\n- ".join(problems))
        found = _ParameterReferenceGenome(scope, id, parameter_name)
        found.contigs, found.contig_md5s = (dict(contigs) if contigs is not None else None), dict(contig_md5s or {})
        return found


class _ExistingReferenceGenome(Construct):
    contigs: dict[str, int] | None
    contig_md5s: dict[str, str]
    reference_arn: str
    reference_store_arn: str
    parameter: ssm.IStringParameter | None
    parameter_name: str | None

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        # Without a parameter there is nothing to read: nothing is granted.
        return _grant_read(self.parameter, grantee)

    def __init__(self, scope: Construct, id: str, *, reference_arn: str, parameter_name: str | None) -> None:
        super().__init__(scope, id)
        self.contigs, self.contig_md5s = None, {}
        self.reference_arn = reference_arn
        match = None if Token.is_unresolved(reference_arn) else _REFERENCE_ARN.fullmatch(reference_arn)
        if match:
            self.reference_store_arn = reference_arn[: reference_arn.index("/reference/")]
        else:
            self.reference_store_arn = Fn.select(0, Fn.split("/reference/", reference_arn))
        self.parameter_name = parameter_name
        self.parameter = None
        if parameter_name is not None:
            self.parameter = ssm.StringParameter(
                self,
                "Parameter",
                parameter_name=parameter_name,
                string_value=reference_arn,
                description="ARN of a HealthOmics reference",
            )


class _ParameterReferenceGenome(Construct):
    contigs: dict[str, int] | None
    contig_md5s: dict[str, str]
    reference_arn: str
    reference_store_arn: None
    parameter: ssm.IStringParameter
    parameter_name: str

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        return _grant_read(self.parameter, grantee)

    def __init__(self, scope: Construct, id: str, parameter_name: str) -> None:
        super().__init__(scope, id)
        self.contigs, self.contig_md5s = None, {}
        # A dynamic reference ({{resolve:ssm:...}}) rather than a template parameter, which
        # would sit unreferenced (cfn-lint W2001) when only grant_read is used.
        self.parameter = ssm.StringParameter.from_string_parameter_attributes(
            self, "Parameter", parameter_name=parameter_name, force_dynamic_reference=True
        )
        self.parameter_name = parameter_name
        self.reference_arn = self.parameter.string_value
        self.reference_store_arn = None


# --------------------------------------------------------------------------- several references

_REFERENCE_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
DEFAULT_REFERENCE_NAME = "default"
#: Room the reference set may take in the functions' environment (Lambda: 4 KB for all variables;
#: the other settings take ~1 KB). Two references with 25 contigs each take ~1 KB.
MAX_REFERENCE_SET_CHARACTERS = 2500


def reference_set(
    scope: Construct,
    *,
    references: Mapping[str, IReferenceGenome | str] | None,
    rules: Mapping[str, str] | None,
    default_reference: str | None,
    single: IReferenceGenome | None,
    single_arn: str | None,
) -> tuple[_known.ReferenceSet, list[IReferenceGenome], list[str]]:
    """``OmicsAutoLoad``'s reference props as the runtime's ``ReferenceSet`` (empty when the
    single ``reference`` needs no choice), the references whose parameter StartImport reads,
    and every problem in the props."""
    problems: list[str] = []
    given: dict[str, IReferenceGenome | str] = dict(references or {})
    if single is not None or single_arn is not None:
        if DEFAULT_REFERENCE_NAME in given:
            problems.append(
                f"references has a {DEFAULT_REFERENCE_NAME!r} entry and reference/reference_arn is given too: "
                "the single reference is the default one; rename the entry or drop reference"
            )
        if default_reference is not None and references:
            problems.append("give default_reference or the single reference/reference_arn (the default), not both")
        given = {DEFAULT_REFERENCE_NAME: single if single is not None else str(single_arn), **given}
    if rules and not references:
        problems.append("reference_rules name references of the references prop: give references too")
    entries = []
    for name, value in given.items():
        if not isinstance(name, str) or not _REFERENCE_KEY.fullmatch(name):
            problems.append(f"references key {name!r} must be 1-64 letters, digits, '.', '_' or '-'")
        if isinstance(value, str):
            if not Token.is_unresolved(value) and not _REFERENCE_ARN.fullmatch(value):
                problems.append(
                    f"references[{name!r}] {value!r} must be a ReferenceGenome or a reference ARN "
                    "(arn:aws:omics:<region>:<account>:referenceStore/<id>/reference/<id>)"
                )
            entries.append(_known.Reference(name, arn=value))
            continue
        if not isinstance(value, IReferenceGenome):
            problems.append(f"references[{name!r}] must be a ReferenceGenome or a reference ARN, not {value!r}")
            continue
        parameter = value.parameter_name
        entries.append(
            _known.Reference(
                name,
                arn="" if parameter else value.reference_arn,
                parameter_name=parameter or "",
                contigs=dict(getattr(value, "contigs", None) or {}),
                md5s=dict(getattr(value, "contig_md5s", None) or {}),
            )
        )
    default = default_reference or (DEFAULT_REFERENCE_NAME if DEFAULT_REFERENCE_NAME in given and references else "")
    found = _known.ReferenceSet(
        tuple(entries), tuple(_known.Rule(pattern, name) for pattern, name in (rules or {}).items()), default
    )
    if not problems:
        problems += [p.replace("default reference", "default_reference") for p in found.problems()]
    if len(found.to_json()) > MAX_REFERENCE_SET_CHARACTERS:
        problems.append(
            f"the references and their contigs take {len(found.to_json())} characters of every function's"
            f" environment (at most {MAX_REFERENCE_SET_CHARACTERS}, Lambda allows 4 KB in all): declare"
            " fewer contigs per reference (the primary chromosomes, or even chr1, chrX and chrM, tell the"
            " human assemblies apart)"
        )
    chosen_among = [v for v in given.values() if not isinstance(v, str)]
    # The single reference without declared contigs is today's setting alone: nothing to choose.
    if not references and not any(r.contigs for r in found.references):
        found = _known.ReferenceSet()
    return found, chosen_among, problems


# --------------------------------------------------------------------------- helpers


def _default_parameter_name(scope: Construct) -> str:
    """``/omics-autoload/<construct path>/reference-arn``, made a valid SSM name.

    SSM allows 15 levels: deeper construct paths keep their first and last levels.
    """
    segments = [_SSM_SEGMENT.sub("-", part).strip("-") or "x" for part in scope.node.path.split("/")]
    if len(segments) > 13:
        segments = [*segments[:6], "-".join(segments[6:-6]), *segments[-6:]]
    return "/" + "/".join(["omics-autoload", *segments, "reference-arn"])


def _parameter_name_problems(name: str) -> list[str]:
    """What SSM would reject in a parameter name (not checked when it is a token)."""
    if Token.is_unresolved(name):
        return []
    problems = []
    if not _SSM_NAME.fullmatch(name):
        problems.append(f"parameter_name {name!r} may only contain letters, digits and _ . - /")
    if "/" in name and not name.startswith("/"):
        problems.append(f"parameter_name {name!r} must start with '/' when it has levels")
    if re.match(r"/?(aws|ssm)", name, re.IGNORECASE):
        problems.append(f"parameter_name {name!r} must not start with 'aws' or 'ssm' (reserved)")
    if name.count("/") > 15:
        problems.append(f"parameter_name {name!r} has more than 15 levels")
    if len(name) > 1011:
        problems.append(f"parameter_name is {len(name)} characters long: at most 1011")
    return problems


def _name_from_key(fasta_key: str) -> str | None:
    if Token.is_unresolved(fasta_key):
        return None
    base = fasta_key.rsplit("/", 1)[-1]
    for suffix in FASTA_SUFFIXES:
        if base.lower().endswith(suffix):
            return base[: -len(suffix)]
    return base


def _fasta_problems(bucket: s3.IBucket, key: str) -> list[str]:
    problems = []
    if not Token.is_unresolved(bucket.bucket_name) and not _BUCKET_NAME.fullmatch(bucket.bucket_name):
        problems.append(f"fasta_bucket name {bucket.bucket_name!r} is not one HealthOmics can read")
    if Token.is_unresolved(key):
        return problems
    if not key.lower().endswith(FASTA_SUFFIXES):
        problems.append(f"fasta_key {key!r} must end in .fa, .fasta, .fa.gz or .fasta.gz")
    if not 1 <= len(key) <= 1024:
        problems.append(f"fasta_key is {len(key)} characters long: 1-1024 allowed")
    if any(c in key for c in "*?") or "${" in key:
        problems.append(f"fasta_key {key!r} must not contain '*', '?' or '${{' (IAM would read them as wildcards)")
    if any(c in key for c in "\r\n"):
        problems.append("fasta_key must not contain line breaks")
    return problems


def _name_problems(given: str | None, name: str | None, fasta_key: str) -> list[str]:
    low, high = REFERENCE_NAME_LENGTH
    if given is not None:
        return _text_problems("reference_name", given, low, high)
    if name is None:
        return ["reference_name is required when fasta_key is a token (it cannot be derived)"]
    problems = _text_problems(f"reference_name (derived from fasta_key {fasta_key!r})", name, low, high)
    if problems:
        problems.append("give reference_name explicitly")
    return problems


def _timing_problems(total_timeout: Duration, query_interval: Duration) -> list[str]:
    problems = []
    total = total_timeout.to_seconds(integral=False)
    interval = query_interval.to_seconds(integral=False)
    interval_ok = interval >= 1 and float(interval).is_integer()
    if not interval_ok:
        problems.append(
            f"query_interval {query_interval.to_human_string()} must be a whole number of seconds, at least 1"
        )
    if total > MAX_TOTAL_TIMEOUT.to_seconds():
        problems.append(
            f"total_timeout {total_timeout.to_human_string()} exceeds 1 hour, the longest CloudFormation waits "
            "for a custom resource (deploy again to let the import finish: the running job is adopted)"
        )
    if total < interval:
        problems.append(
            f"total_timeout {total_timeout.to_human_string()} is shorter than query_interval "
            f"{query_interval.to_human_string()}"
        )
    elif interval_ok and total % interval:
        problems.append(
            f"total_timeout {total_timeout.to_human_string()} must be a whole multiple of query_interval "
            f"{query_interval.to_human_string()} (the Provider retries total/interval times)"
        )
    return problems


def _acknowledge_handler(function: lambda_.Function, reference_arns: str) -> None:
    from ._functions import acknowledge_function_findings

    acknowledge_function_findings(function)
    _nag.acknowledge(
        function,
        {_nag.HIPAA: ["LambdaDLQ"], _nag.NIST: ["LambdaDLQ"]},
        "Only the Provider framework invokes this function, synchronously; a dead-letter "
        "queue receives only failed asynchronous invocations and would stay empty. A "
        "failure reaches CloudFormation as a failed deployment.",
    )
    _nag.acknowledge(
        function.role or function,
        {_nag.AWS_SOLUTIONS: [f"IAM5[Resource::{_nag.rendered(function, reference_arns)}]"]},
        "Reference ids are assigned by HealthOmics when the import completes: the handler "
        "may only read (and, with removal policy DESTROY, delete) references of this one "
        "reference store.",
    )


def _acknowledge_import_role(role: iam.Role) -> None:
    _nag.acknowledge(
        role,
        {_nag.HIPAA: ["IAMNoInlinePolicy"], _nag.NIST: ["IAMNoInlinePolicy"]},
        "The import role exists only to let HealthOmics read this one FASTA object; its "
        "inline policy lives and dies with it and cannot be attached elsewhere.",
    )


def _acknowledge_provider(provider: cr.Provider, *functions: lambda_.Function) -> None:
    """Findings on the CDK Provider framework's own functions and state machine."""
    # The waiter invokes the framework's isComplete and onTimeout functions.
    waited = [
        child
        for child in provider.node.find_all()
        if isinstance(child, lambda_.Function) and child.node.id in ("framework-isComplete", "framework-onTimeout")
    ]
    invoked = [_nag.rendered(f, f.function_arn) + ":*" for f in (*functions, *waited)]
    reason = (
        "AWS CDK's custom resource Provider framework (aws_cdk.custom_resources.Provider): "
        "its functions, roles and waiter state machine are generated by CDK and cannot be "
        "configured further. "
    )
    _nag.acknowledge(
        provider,
        {
            _nag.AWS_SOLUTIONS: [
                "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]"
            ]
        },
        reason + "The AWS managed basic execution policy only allows writing to CloudWatch Logs.",
    )
    _nag.acknowledge(
        provider,
        {_nag.AWS_SOLUTIONS: [f"IAM5[Resource::{arn}]" for arn in invoked]},
        reason + "The framework invokes the handler functions (any version, hence ':*') "
        "that this construct created, and nothing else.",
    )
    _nag.acknowledge(
        provider,
        {_nag.AWS_SOLUTIONS: ["IAM5[Resource::*]"]},
        reason + "Step Functions log delivery (logs:CreateLogDelivery and related actions) "
        "supports no resource-level permission.",
    )
    _nag.acknowledge(
        provider,
        {_nag.AWS_SOLUTIONS: ["SF2"]},
        reason + "The waiter only calls the isComplete function every query interval; its "
        "executions are logged (level ALL, without execution data).",
    )
    _nag.acknowledge(
        provider,
        {
            _nag.HIPAA: ["IAMNoInlinePolicy", "LambdaConcurrency", "LambdaDLQ", "LambdaInsideVPC"],
            _nag.NIST: ["IAMNoInlinePolicy", "LambdaConcurrency", "LambdaDLQ", "LambdaInsideVPC"],
        },
        reason + "The framework functions run only during deployments, are invoked by "
        "CloudFormation and Step Functions, call only AWS APIs and report failures to "
        "CloudFormation.",
    )


__all__ = [
    "DEFAULT_QUERY_INTERVAL",
    "DEFAULT_TOTAL_TIMEOUT",
    "MAX_TOTAL_TIMEOUT",
    "Contigs",
    "IReferenceGenome",
    "ReferenceGenome",
]


def _encrypt_waiter(provider: cr.Provider, key: kms.IKey) -> None:
    """The Provider offers no encryption prop for its waiter state machine: set it on the L1."""
    waiter = provider.node.find_child("waiter-state-machine")
    machine = waiter.node.find_child("Resource")
    assert isinstance(machine, sfn.CfnStateMachine)
    role = waiter.node.find_child("Role")
    assert isinstance(role, iam.Role)
    # The waiter's ARN is its own attribute: a condition on it would be a cycle.
    _defaults.encrypt_state_machine(machine, role, key)
    # The framework's onEvent function starts the waiter's executions (StartExecution
    # encrypts the input with the key).
    on_event = provider.node.find_child("framework-onEvent")
    assert isinstance(on_event, lambda_.Function)
    on_event.add_to_role_policy(
        iam.PolicyStatement(actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[key.key_arn])
    )
