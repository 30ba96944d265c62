"""The deployed pipeline that ``status`` and ``redrive`` operate: its tracking table,
dead-letter queues and functions.

``--table NAME`` names the table; ``--stack NAME`` finds everything in the stack's
resources (CloudFormation ``ListStackResources``): the ``AWS::DynamoDB::Table`` whose
logical id contains ``Tracking``, the ``AWS::SQS::Queue`` resources whose logical ids
contain ``DeadLetterQueue``, and the intake and completion functions by their logical
ids, and with ``batch_operations=True`` the ``AWS::IAM::Role`` and ``AWS::S3::Bucket``
whose logical ids contain ``BatchOperationsRole`` / ``BatchOperationsBucket``. The
commands use your AWS credentials and region (``AWS_PROFILE``, ``AWS_REGION``) and need
boto3.

``plan`` reads the intake function's settings (``settings.Settings``) the same way: from a
synthesized template's ``AWS::Lambda::Function`` whose logical id contains
``IntakeFunction``, or from the deployed function (``lambda:GetFunctionConfiguration``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from omics_autoload_runtime.adapters import clients
from omics_autoload_runtime.cli.errors import NEEDS_BOTO3, AwsError, CliError, Usage, botocore_errors, require_boto3
from omics_autoload_runtime.settings import ConfigurationError, Settings

# (role, marker in a queue's logical id, the function its raw events go back to)
_QUEUE_MARKERS = (
    ("intake", "IntakeDeadLetterQueue", "IntakeFunction"),
    ("starter", "StarterDeadLetterQueue", ""),
    ("workflow", "ImportWorkflowDeadLetterQueue", "ImportWorkflowCompletionFunction"),
)


@dataclass
class DeadLetterQueue:
    url: str
    logical_id: str = ""
    role: str = "unknown"  # intake | starter | workflow | unknown
    function: str | None = None  # where its raw events go back to

    @property
    def name(self) -> str:
        return self.url.rstrip("/").rsplit("/", 1)[-1]


@dataclass
class Deployment:
    table: str
    queues: list[DeadLetterQueue] = field(default_factory=list)
    intake_function: str | None = None
    completion_function: str | None = None
    batch_role: str | None = None  # OmicsAutoLoad(batch_operations=True): the job's role name
    batch_bucket: str | None = None  # ... and the bucket of its manifests and reports
    sequence_store: str | None = None  # the AWS::Omics::SequenceStore's id (status --read-set)


def add_target_arguments(command: argparse.ArgumentParser) -> None:
    """``--stack`` or ``--table``: what ``resolve`` reads."""
    target = command.add_mutually_exclusive_group(required=True)
    target.add_argument("--stack", metavar="NAME", help="CloudFormation stack that holds the OmicsAutoLoad construct")
    target.add_argument("--table", metavar="NAME", help="tracking table name (instead of --stack)")


def resolve(args: argparse.Namespace) -> Deployment:
    require_boto3(f"this command calls AWS and {NEEDS_BOTO3}")
    if args.table:
        return Deployment(table=args.table)
    resources: list[Mapping[str, Any]] = []
    paginator = clients.client("cloudformation").get_paginator("list_stack_resources")
    for page in paginator.paginate(StackName=args.stack):
        resources.extend(page.get("StackResourceSummaries", []))
    return deployment_from_resources(resources, args.stack)


def queue_role(name: str) -> str:
    """intake | starter | workflow | unknown, from a queue's logical id or name."""
    for role, marker, _ in _QUEUE_MARKERS:
        if marker in name:
            return role
    return "unknown"


def _prefix(logical_id: str, marker: str) -> str | None:
    index = logical_id.find(marker)
    return logical_id[:index] if index >= 0 else None


def deployment_from_resources(resources: Iterable[Mapping[str, Any]], stack: str = "") -> Deployment:
    """The table, dead-letter queues and functions among a stack's resources."""
    resources = list(resources)

    def of_type(kind: str) -> list[Mapping[str, Any]]:
        return [r for r in resources if r.get("ResourceType") == kind and r.get("PhysicalResourceId")]

    tables = [r for r in of_type("AWS::DynamoDB::Table") if "Tracking" in r["LogicalResourceId"]]
    if not tables:
        raise Usage(f"stack {stack} has no tracking table (an AWS::DynamoDB::Table whose logical id contains Tracking)")
    if len(tables) > 1:
        names = ", ".join(sorted(r["PhysicalResourceId"] for r in tables))
        raise Usage(f"stack {stack} has {len(tables)} tracking tables ({names}): name one with --table")
    functions = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in of_type("AWS::Lambda::Function")}

    def function(prefix: str, suffix: str) -> str | None:
        found = [name for logical, name in functions.items() if logical.startswith(prefix + suffix)]
        return found[0] if len(found) == 1 else None

    prefix = _prefix(tables[0]["LogicalResourceId"], "Tracking") or ""
    queues = []
    for resource in of_type("AWS::SQS::Queue"):
        logical = resource["LogicalResourceId"]
        if "DeadLetterQueue" not in logical:
            continue
        queue = DeadLetterQueue(url=resource["PhysicalResourceId"], logical_id=logical)
        for role, marker, target in _QUEUE_MARKERS:
            head = _prefix(logical, marker)
            if head is not None:
                queue.role = role
                queue.function = function(head, target) if target else None
        queues.append(queue)
    def single(kind: str, marker: str) -> str | None:
        found = [r["PhysicalResourceId"] for r in of_type(kind) if (prefix + marker) in r["LogicalResourceId"]]
        return found[0] if len(found) == 1 else None

    stores = [r["PhysicalResourceId"] for r in of_type("AWS::Omics::SequenceStore")]
    return Deployment(
        sequence_store=stores[0] if len(stores) == 1 else None,
        batch_role=single("AWS::IAM::Role", "BatchOperationsRole"),
        batch_bucket=single("AWS::S3::Bucket", "BatchOperationsBucket"),
        table=tables[0]["PhysicalResourceId"],
        queues=sorted(queues, key=lambda q: q.logical_id),
        intake_function=function(prefix, "IntakeFunction"),
        completion_function=function(prefix, "ImportWorkflowCompletionFunction"),
    )


def invoke_async(function: str, payload: Mapping[str, Any]) -> None:
    """Re-send an event to one of the pipeline's functions (asynchronous ``lambda:Invoke``)."""
    response = clients.client("lambda").invoke(
        FunctionName=function, InvocationType="Event", Payload=json.dumps(payload).encode("utf-8")
    )
    status = int(response.get("StatusCode") or 0)
    if status != 202:
        raise CliError(f"lambda:Invoke {function} answered {status}, not 202")


def _settings(environment: Mapping[str, Any], where: str) -> Settings:
    # CloudFormation tokens ({"Ref": ...}) are known only once deployed: read as unset.
    env = {name: value for name, value in environment.items() if isinstance(value, str)}
    try:
        return Settings.from_environment(env)
    except ConfigurationError as error:
        raise Usage(f"{where}: {error}") from None


def settings_from_template(template: Mapping[str, Any], where: str = "template") -> Settings:
    """The intake function's settings in a synthesized template; one OmicsAutoLoad only."""
    found = {
        logical: resource
        for logical, resource in (template.get("Resources") or {}).items()
        if resource.get("Type") == "AWS::Lambda::Function" and "IntakeFunction" in logical
    }
    if len(found) != 1:
        names = ", ".join(sorted(found)) or "none"
        raise Usage(f"{where}: expected one intake function (logical id containing IntakeFunction), found {names}")
    (resource,) = found.values()
    variables = ((resource.get("Properties") or {}).get("Environment") or {}).get("Variables") or {}
    settings = _settings(variables, where)
    tokens = [name for name in ("REFERENCE_ARN", "REFERENCE_PARAMETER_NAME") if name in variables]
    if not settings.reference_arn and (
        settings.reference_parameter_name or any(not isinstance(variables[name], str) for name in tokens)
    ):
        print(
            f"warning: {where}: the reference genome's ARN is known once deployed (the functions read it"
            " from SSM at run time); give --reference-arn, or plan with --stack, for BAM/CRAM files",
            file=sys.stderr,
        )
    return settings


def settings_from_stack(stack: str) -> Settings:
    """The deployed intake function's settings; a reference in an SSM parameter is read."""
    require_boto3("--stack calls AWS and needs boto3: pip install boto3")
    found = resolve(argparse.Namespace(table=None, stack=stack))
    if not found.intake_function:
        raise Usage(f"stack {stack} has no intake function (logical id containing IntakeFunction)")
    try:
        config = clients.client("lambda").get_function_configuration(FunctionName=found.intake_function)
        settings = _settings((config.get("Environment") or {}).get("Variables") or {}, f"stack {stack}")
        if not settings.reference_arn and settings.reference_parameter_name:
            parameter = clients.client("ssm").get_parameter(Name=settings.reference_parameter_name)
            settings = settings.replace(reference_arn=parameter["Parameter"]["Value"])
    except botocore_errors() as error:
        raise AwsError(f"cannot read the settings of stack {stack}: {error}") from None
    return settings
