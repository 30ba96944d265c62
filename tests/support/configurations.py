"""The configurations whose policies are evaluated, synthesized together once per process.

One app holds one stack per configuration (a single jsii synthesis): zero-config, maximal
(the user's key and KMS bucket, EventBridge, two prefixes, a reference with its key, alarms,
tagging, reconciliation from an S3 Inventory report), EventBridge with alarms, an imported
key, a brought alarm topic with its own key (S3 notifications, two prefixes, reconciliation
by listing), and a ReferenceGenome alone with a key. Each comes with its delivery-path table
(``omics_autoload_construct._delivery_paths``), resolved to CloudFormation values, and
with the key-policy statements the synthesis warned an imported key needs.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from support.iam_eval import ACCOUNT, REGION, ROOT, Request, Template, service

IMPORTED_KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
NAMES = ("ZeroConfig", "Maximal", "EventBridge", "ImportedKey", "BroughtTopic", "ReferenceWithKey")


@dataclass
class Configuration:
    name: str
    template: dict[str, Any]
    paths: list[dict[str, Any]]  # name, principal, actions, resource, context: CloudFormation values
    warnings: list[str]

    def key_policy_warned(self) -> list[dict[str, Any]]:
        """The statements the synthesis said the imported key needs."""
        from omics_autoload_construct._defaults import IMPORTED_KEY_WARNING

        return [json.loads(w[w.index("{"):].split(" [ack:")[0]) for w in self.warnings if IMPORTED_KEY_WARNING in w]

    def evaluator(self, **names: Any) -> Template:
        # An imported key keeps the default key policy (the account may use it through
        # IAM) plus exactly what the warnings asked for.
        root = {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"}
        return Template(
            self.template,
            names=names,
            external_key_policies={IMPORTED_KEY_ARN: [root, *self.key_policy_warned()]},
        )

    def requests(self, template: Template) -> list[tuple[str, Request]]:
        out = []
        for path in self.paths:
            principal = template.resolve(path["principal"])
            if principal.endswith(".amazonaws.com"):
                principal = service(principal)
            context = template.resolve(path["context"])
            if principal.startswith("service:") and "aws:SourceAccount" in context:
                context.setdefault("AWS:SourceOwner", context["aws:SourceAccount"])
            resource = template.resolve(path["resource"])
            for action in path["actions"]:
                out.append((path["name"], Request(principal, action, resource, context)))
        return out


@functools.cache
def configurations() -> dict[str, Configuration]:
    import aws_cdk as cdk
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_s3 as s3
    from aws_cdk import aws_sns as sns

    from omics_autoload_construct import (
        OmicsAutoLoad,
        PostImportAction,
        Reconciliation,
        ReferenceGenome,
        ReferenceStore,
        TriggerMode,
    )
    from omics_autoload_construct._delivery_paths import auto_load_paths, reference_genome_paths

    app = cdk.App()
    env = cdk.Environment(account=ACCOUNT, region=REGION)
    stacks = {name: cdk.Stack(app, name, env=env) for name in NAMES}
    tables: dict[str, list[Any]] = {name: [] for name in NAMES}

    tables["ZeroConfig"] += auto_load_paths(OmicsAutoLoad(stacks["ZeroConfig"], "AutoLoad"))

    stack = stacks["Maximal"]
    key = kms.Key(stack, "UserKey", enable_key_rotation=True)
    bucket = s3.Bucket(
        stack, "UserBucket", encryption=s3.BucketEncryption.KMS, encryption_key=key, enforce_ssl=True,
        versioned=True, event_bridge_enabled=True,
    )
    reference = ReferenceGenome(
        stack, "Reference", fasta_bucket=bucket, fasta_key="references/GRCh38.fasta.gz",
        reference_store=ReferenceStore(stack, "References", encryption_key=key), encryption_key=key,
    )
    tables["Maximal"] += auto_load_paths(
        OmicsAutoLoad(
            stack, "AutoLoad", bucket=bucket, trigger_mode=TriggerMode.EVENTBRIDGE,
            key_prefixes=["runs/", "aligned/"], key_suffixes=[".fastq.gz", ".bam"], reference=reference,
            encryption_key=key, alarms=True, post_import_action=PostImportAction.TAG,
            reconciliation=Reconciliation(
                inventory_bucket=s3.Bucket(
                    stack, "Inventory", encryption=s3.BucketEncryption.KMS, encryption_key=key, enforce_ssl=True
                ),
                inventory_prefix="inventory/user-bucket/daily",
            ),
        )
    )
    tables["Maximal"] += reference_genome_paths(reference, bucket)

    stack = stacks["EventBridge"]
    tables["EventBridge"] += auto_load_paths(
        OmicsAutoLoad(stack, "AutoLoad", trigger_mode=TriggerMode.EVENTBRIDGE, alarms=True)
    )

    stack = stacks["ImportedKey"]
    imported = kms.Key.from_key_arn(stack, "ImportedKey", IMPORTED_KEY_ARN)
    tables["ImportedKey"] += auto_load_paths(
        OmicsAutoLoad(stack, "AutoLoad", encryption_key=imported, trigger_mode=TriggerMode.EVENTBRIDGE, alarms=True)
    )

    stack = stacks["BroughtTopic"]
    topic_key = kms.Key(stack, "TopicKey", enable_key_rotation=True)
    topic = sns.Topic(stack, "Topic", master_key=topic_key)
    tables["BroughtTopic"] += auto_load_paths(
        OmicsAutoLoad(
            stack, "AutoLoad", alarm_topic=topic, key_prefixes=["runs/", "aligned/"],
            reconciliation=Reconciliation(schedule=cdk.Duration.hours(6)),
        )
    )

    stack = stacks["ReferenceWithKey"]
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    genomes = s3.Bucket.from_bucket_attributes(stack, "Genomes", bucket_name="genomes-bucket", encryption_key=key)
    reference = ReferenceGenome(stack, "GRCh38", fasta_bucket=genomes, fasta_key="hg38.fa", encryption_key=key)
    tables["ReferenceWithKey"] += reference_genome_paths(reference, genomes)

    assembly = app.synth()
    out = {}
    for name in NAMES:
        artifact = assembly.get_stack_by_name(name)
        rows = [
            {
                "name": p.name,
                "principal": stacks[name].resolve(p.principal),
                "actions": list(p.actions),
                "resource": stacks[name].resolve(p.resource),
                "context": stacks[name].resolve(dict(p.context)),
            }
            for p in tables[name]
        ]
        warnings = [str(m.entry.data) for m in artifact.messages if m.entry.type == "aws:cdk:warning"]
        out[name] = Configuration(name, artifact.template, rows, warnings)
    return out
