"""Every service-to-service path the constructs create: who calls, what, on which resource.

These calls happen between AWS services (S3 sending to the intake queue, CloudWatch
publishing an alarm, CloudWatch Logs encrypting a log group...), so no handler test sees
them, and AWS refuses them only in a real account, often silently. The table is kept
next to the code that creates the paths, from the constructs' own attributes, so a new
path is one more row; the tests resolve each row against the synthesized template and
evaluate the identity, resource and key policies that AWS would (``tests/construct/
test_delivery_paths.py``).

A principal is a service principal (``*.amazonaws.com``), a role ARN or the account
(``arn:<partition>:iam::<account>:root``, the deploying principal, for keys used at
deployment). ``context`` holds the request context keys the policies condition on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aws_cdk import Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs

if TYPE_CHECKING:
    from .omics_autoload import OmicsAutoLoad
    from .reference_genome import ReferenceGenome

# A source object HealthOmics reads (the path is the same for every key under the prefix).
EXAMPLE_OBJECT = "run1/sample_S1_L001_R1_001.fastq.gz"
LOG_DELIVERY_ACTIONS = (
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
)
SEND_TO_QUEUE = ("kms:GenerateDataKey", "kms:Decrypt")
STORE_KEY_AT_DEPLOYMENT = ("kms:CreateGrant", "kms:DescribeKey", "kms:GenerateDataKey", "kms:Decrypt")


@dataclass(frozen=True)
class DeliveryPath:
    """One path: ``principal`` does each of ``actions`` on ``resource`` (tokens allowed)."""

    name: str
    principal: str
    actions: tuple[str, ...]
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)


class _Table:
    """Collects the rows of one construct; KMS rows only where a customer key is used."""

    def __init__(self, scope: Any) -> None:
        stack = Stack.of(scope)
        self.stack = stack
        self.account = stack.account
        self.paths: list[DeliveryPath] = []

    def add(self, name: str, principal: str, actions: Sequence[str], resource: str, **context: Any) -> None:
        self.paths.append(DeliveryPath(name, principal, tuple(actions), resource, _context(context)))

    def key(self, name: str, principal: str, actions: Sequence[str], key: kms.IKey | None, **context: Any) -> None:
        if key is not None:
            self.add(f"{name} (KMS)", principal, actions, key.key_arn, **context)

    def from_service(self, name: str, service: str, actions: Sequence[str], resource: str, source_arn: str) -> None:
        self.add(name, service, actions, resource, aws__SourceAccount=self.account, aws__SourceArn=source_arn)

    def via(self, service: str) -> str:
        return f"{service}.{self.stack.region}.amazonaws.com"

    def logs_service(self, label: str, group: logs.ILogGroup, key: kms.IKey | None) -> None:
        self.key(
            f"CloudWatch Logs writes the {label} log group",
            f"logs.{self.stack.region}.amazonaws.com",
            ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"),
            key,
            kms__EncryptionContext__aws__logs__arn=group.log_group_arn,
            aws__SourceAccount=self.account,
        )

    def queue(self, label: str, role_arn: str, queue: sqs.IQueue) -> None:
        self.add(f"{label} -> dead-letter queue", role_arn, ("sqs:SendMessage",), queue.queue_arn)
        self.key(f"{label} -> dead-letter queue", role_arn, SEND_TO_QUEUE, queue.encryption_master_key,
                 kms__ViaService=self.via("sqs"))

    def receive(self, label: str, role_arn: str, queue: sqs.IQueue) -> None:
        """A Lambda event source mapping reading ``queue`` with the function's role."""
        self.add(f"{label} (event source mapping)", role_arn,
                 ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"), queue.queue_arn)
        self.key(f"{label} (event source mapping)", role_arn, ("kms:Decrypt",), queue.encryption_master_key,
                 kms__ViaService=self.via("sqs"))

    def state_machine_key(self, label: str, machine_arn: str, role_arn: str, log_group: logs.ILogGroup,
                          key: kms.IKey | None) -> None:
        self.key(f"{label} executions", role_arn, ("kms:GenerateDataKey", "kms:Decrypt"), key,
                 kms__EncryptionContext__aws__states__stateMachineArn=machine_arn)
        # Vended log delivery names the account's logs, not one log group, in its context.
        stack = self.stack
        self.key(f"{label} log delivery", role_arn, ("kms:GenerateDataKey",), key,
                 kms__EncryptionContext__SourceArn=f"arn:{stack.partition}:logs:{stack.region}:{self.account}:*")
        self.key(f"CloudWatch Logs delivers the {label} logs", "delivery.logs.amazonaws.com", ("kms:Decrypt",), key,
                 aws__SourceAccount=self.account, aws__SourceArn=log_group.log_group_arn)
        self.add(f"{label} -> CloudWatch Logs (log delivery)", role_arn, LOG_DELIVERY_ACTIONS, "*")
        self.logs_service(label, log_group, key)

    def omics_reads(self, label: str, role_arn: str, source_arn: str, bucket: Any, object_key: str) -> None:
        self.add(f"HealthOmics assumes the {label} import role", "omics.amazonaws.com", ("sts:AssumeRole",),
                 role_arn, aws__SourceAccount=self.account, aws__SourceArn=source_arn)
        self.add(f"HealthOmics reads the {label} source object", role_arn, ("s3:GetObject",),
                 bucket.arn_for_objects(object_key))
        self.add(f"HealthOmics locates the {label} bucket", role_arn, ("s3:GetBucketLocation",), bucket.bucket_arn)
        self.key(f"HealthOmics decrypts the {label} source object", role_arn, ("kms:Decrypt",),
                 bucket.encryption_key, kms__ViaService=self.via("s3"))

    def store_key(self, label: str, store: Any) -> None:
        root = f"arn:{self.stack.partition}:iam::{self.account}:root"
        self.key(f"CloudFormation creates the {label} store", root, STORE_KEY_AT_DEPLOYMENT,
                 getattr(store, "encryption_key", None))


def _context(given: Mapping[str, Any]) -> dict[str, Any]:
    """``aws__SourceArn`` -> ``aws:SourceArn`` (condition keys are not Python names)."""
    return {name.replace("__", ":"): value for name, value in given.items()}


def _role(function: lambda_.IFunction) -> str:
    assert function.role is not None
    return function.role.role_arn


def auto_load_paths(auto_load: OmicsAutoLoad) -> list[DeliveryPath]:
    """The paths of one ``OmicsAutoLoad``."""
    t = _Table(auto_load)
    key = auto_load.encryption_key
    intake, starter, workflow = auto_load.intake, auto_load.starter, auto_load.workflow
    table = auto_load.table

    rule = getattr(intake, "rule", None)
    sender, source = ("s3.amazonaws.com", auto_load.bucket.bucket_arn) if rule is None else (
        "events.amazonaws.com", rule.rule_arn)
    label = "S3 notification" if rule is None else "EventBridge Object Created"
    t.from_service(f"{label} -> intake queue", sender, ("sqs:SendMessage",), intake.queue.queue_arn, source)
    t.key(f"{label} -> intake queue", sender, SEND_TO_QUEUE, intake.queue.encryption_master_key,
          aws__SourceAccount=t.account, aws__SourceArn=source)
    t.receive("intake queue -> intake function", _role(intake.function), intake.queue)
    if starter.gather_queue is not None:
        t.add("starter -> gather queue", _role(starter.function), ("sqs:SendMessage",), starter.gather_queue.queue_arn)
        t.key("starter -> gather queue", _role(starter.function), SEND_TO_QUEUE,
              starter.gather_queue.encryption_master_key, kms__ViaService=t.via("sqs"))
        t.receive("gather queue -> starter", _role(starter.function), starter.gather_queue)
    if rule is not None:
        t.from_service("EventBridge -> intake dead-letter queue", "events.amazonaws.com", ("sqs:SendMessage",),
                       intake.dead_letter_queue.queue_arn, rule.rule_arn)
        t.key("EventBridge -> intake dead-letter queue", "events.amazonaws.com", SEND_TO_QUEUE,
              intake.dead_letter_queue.encryption_master_key,
              aws__SourceAccount=t.account, aws__SourceArn=rule.rule_arn)
    for job_rule, label in ((workflow.job_status_rule, "job status"), (workflow.sweep_rule, "sweep")):
        t.from_service(f"EventBridge {label} rule -> completion function", "events.amazonaws.com",
                       ("lambda:InvokeFunction",), workflow.completion_function.function_arn, job_rule.rule_arn)

    # Failed events: the intake's asynchronous destination, each function's DLQ, the stream's.
    queues: dict[lambda_.IFunction, sqs.IQueue] = {
        intake.function: intake.dead_letter_queue,
        starter.function: starter.dead_letter_queue,
    }
    reconciliation = auto_load.reconciliation
    if reconciliation is not None:
        queues[reconciliation.function] = reconciliation.dead_letter_queue
        schedule = reconciliation.rule.rule_arn
        t.from_service("EventBridge reconciliation schedule -> reconciliation function", "events.amazonaws.com",
                       ("lambda:InvokeFunction",), reconciliation.function.function_arn, schedule)
        t.from_service("EventBridge -> reconciliation dead-letter queue", "events.amazonaws.com",
                       ("sqs:SendMessage",), reconciliation.dead_letter_queue.queue_arn, schedule)
        t.key("EventBridge -> reconciliation dead-letter queue", "events.amazonaws.com", SEND_TO_QUEUE,
              reconciliation.dead_letter_queue.encryption_master_key,
              aws__SourceAccount=t.account, aws__SourceArn=schedule)
    for function in auto_load.functions:
        queue = queues.get(function, workflow.dead_letter_queue)
        t.queue(f"{function.node.path} (Lambda, failed event)", _role(function), queue)
    t.add("tracking table stream -> starter (event source mapping)", _role(starter.function),
          ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"), table.table_stream_arn or "")
    t.add("event source mapping lists the table's streams", _role(starter.function), ("dynamodb:ListStreams",), "*")
    t.queue("starter event source mapping (failed batch)", _role(starter.function), starter.dead_letter_queue)

    # The tracking table (and its stream) with the customer key, for every function.
    for function in auto_load.functions:
        assert isinstance(function, lambda_.Function)
        t.key(f"{function.node.path} -> tracking table", _role(function), ("kms:Decrypt",), table.encryption_key,
              kms__ViaService=t.via("dynamodb"))
        t.logs_service(function.node.path, function.log_group, key)

    # The import workflow: its role, its key, and the functions that call it.
    machine = auto_load.state_machine
    machine_role = machine.role.role_arn
    for function in (workflow.capacity_function, workflow.start_function, workflow.wait_function,
                     workflow.finalize_function):
        t.add(f"Step Functions -> {function.node.id}", machine_role, ("lambda:InvokeFunction",),
              function.function_arn)
    machine_logs = workflow.node.find_child("StateMachineLogs")
    assert isinstance(machine_logs, logs.LogGroup)
    t.state_machine_key("import workflow", machine.state_machine_arn, machine_role, machine_logs, key)
    states = {"kms__EncryptionContext__aws__states__stateMachineArn": machine.state_machine_arn}
    t.key("starter StartExecution (input encrypted)", _role(starter.function), ("kms:GenerateDataKey",), key, **states)
    for function in (workflow.capacity_function, workflow.start_function, workflow.wait_function,
                     workflow.finalize_function, workflow.completion_function):
        t.key(f"{function.node.id} SendTaskSuccess/Failure (output encrypted)", _role(function),
              ("kms:GenerateDataKey",), key, **states)
    for function in (starter.function, workflow.completion_function):
        t.key(f"{function.node.path} DescribeExecution", _role(function), ("kms:Decrypt",), key, **states)

    # Alarms and failure notices.
    topic = auto_load.alarm_topic
    if topic is not None:
        topic_key = topic.master_key
        for alarm in auto_load.alarms:
            t.from_service(f"CloudWatch alarm {alarm.node.id} -> topic", "cloudwatch.amazonaws.com",
                           ("sns:Publish",), topic.topic_arn, alarm.alarm_arn)
            t.key(f"CloudWatch alarm {alarm.node.id} -> topic", "cloudwatch.amazonaws.com",
                  ("kms:GenerateDataKey", "kms:Decrypt"), topic_key,
                  aws__SourceAccount=t.account, aws__SourceArn=alarm.alarm_arn)
        for function in auto_load.notice_publishers:
            t.add(f"{function.node.path} -> topic (failure notice)", _role(function), ("sns:Publish",),
                  topic.topic_arn)
            t.key(f"{function.node.path} -> topic (failure notice)", _role(function),
                  ("kms:GenerateDataKey", "kms:Decrypt"), topic_key, kms__ViaService=t.via("sns"))

    # HealthOmics reads the sources; the intake reads them too.
    bucket = auto_load.bucket
    for prefix in auto_load.key_prefixes or ("",):  # a source under each watched prefix
        label = f"read set ({prefix})" if prefix else "read set"
        t.omics_reads(label, auto_load.import_role.role_arn, auto_load.sequence_store.sequence_store_arn, bucket,
                      f"{prefix}{EXAMPLE_OBJECT}")
    t.key("intake reads the source object", _role(intake.function), ("kms:Decrypt",), bucket.encryption_key,
          kms__ViaService=t.via("s3"))
    t.store_key("sequence", auto_load.sequence_store)
    return t.paths


def reference_genome_paths(reference: ReferenceGenome, fasta_bucket: Any) -> list[DeliveryPath]:
    """The paths of one ``ReferenceGenome``: the Provider, its waiter and HealthOmics."""
    t = _Table(reference)
    key = reference.encryption_key
    provider = reference.provider
    framework = {
        name: provider.node.find_child(f"framework-{name}") for name in ("onEvent", "isComplete", "onTimeout")
    }
    waiter = provider.node.find_child("waiter-state-machine")
    waiter_arn = waiter.node.find_child("Resource").attr_arn  # type: ignore[attr-defined]
    waiter_role = waiter.node.find_child("Role").role_arn  # type: ignore[attr-defined]
    on_event = _role(framework["onEvent"])  # type: ignore[arg-type]
    t.add("Provider onEvent -> onEvent handler", on_event, ("lambda:InvokeFunction",),
          reference.on_event_function.function_arn)
    t.add("Provider onEvent -> waiter (StartExecution)", on_event, ("states:StartExecution",), waiter_arn)
    t.key("Provider onEvent -> waiter (StartExecution)", on_event, ("kms:GenerateDataKey",), key,
          kms__EncryptionContext__aws__states__stateMachineArn=waiter_arn)
    for name in ("isComplete", "onTimeout"):
        t.add(f"waiter -> Provider {name}", waiter_role, ("lambda:InvokeFunction",),
              framework[name].function_arn)  # type: ignore[attr-defined]
    t.add("Provider isComplete -> isComplete handler", _role(framework["isComplete"]),  # type: ignore[arg-type]
          ("lambda:InvokeFunction",), reference.is_complete_function.function_arn)
    waiter_logs = reference.node.find_child("WaiterLogs")
    assert isinstance(waiter_logs, logs.LogGroup)
    t.state_machine_key("reference waiter", waiter_arn, waiter_role, waiter_logs, key)
    for name in ("HandlerLogs", "ProviderLogs"):
        group = reference.node.find_child(name)
        assert isinstance(group, logs.LogGroup)
        t.logs_service(f"reference {name}", group, key)
    t.omics_reads("reference", reference.import_role.role_arn, reference.reference_store_arn, fasta_bucket,
                  reference.fasta_key)
    t.store_key("reference", reference.reference_store)
    return t.paths
