"""``omics-autoload status --key / --prefix / --read-set``: what happened to these files.

Per object version: status, reason, read set (its HealthOmics id, name, sample), import
job, and the timestamps the items carry (received, queued, import started, imported,
redriven, last change). No table scan: ``--key`` queries the object's partition
(``OBJ#s3://bucket/key``); ``--prefix`` lists the prefix in S3 and queries each key (an
object deleted from S3 is then not shown: ask for it with ``--key``); ``--read-set ID``
asks HealthOmics (``GetReadSetMetadata``: the job that created it, then
``GetReadSetImportJob``: that job's source files for the read set) and queries those.
``--watch`` asks again every ``--interval`` seconds until every version is final, or
``--timeout`` passes (exit code 1).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

from omics_autoload_runtime.adapters import clients, tracking
from omics_autoload_runtime.cli.errors import Usage
from omics_autoload_runtime.cli.output import printable
from omics_autoload_runtime.domain.s3_uri import split_s3_uri

# Item timestamps, in the order a file goes through the pipeline: (label, item, field).
TIMES = (
    ("created", "object", "createdAt"),
    ("received", "object", "receivedAt"),
    ("redriven", "object", "redrivenAt"),
    ("queued", "readset", "queuedAt"),
    ("import started", "readset", "importStartedAt"),
    ("imported", "object", "importedAt"),
    ("last change", "object", "updatedAt"),
)


def add_story_arguments(command: argparse.ArgumentParser) -> None:
    which = command.add_argument_group("one file's story (instead of the counts)")
    which.add_argument("--key", action="append", default=[], metavar="S3_URI", help="this object; repeatable")
    which.add_argument("--prefix", metavar="S3_URI", help="every object under this s3:// prefix (a run folder)")
    which.add_argument("--read-set", metavar="ID", help="the files a HealthOmics read set was imported from")
    which.add_argument("--sequence-store-id", metavar="ID", help="with --read-set and --table (else from --stack)")
    which.add_argument("--watch", action="store_true", help="ask again until every file is final")
    which.add_argument("--interval", type=float, default=30.0, metavar="S", help="--watch: default 30")
    which.add_argument("--timeout", type=float, default=3600.0, metavar="S", help="--watch: default 3600")


def wants_story(args: argparse.Namespace) -> bool:
    return bool(args.key or args.prefix or args.read_set)


def run_story(
    args: argparse.Namespace,
    table_name: str,
    sequence_store_id: str | None,
    out: TextIO | None = None,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
) -> int:
    out = out or sys.stdout
    sleep, clock = sleep or time.sleep, clock or time.monotonic
    if sum(bool(x) for x in (args.key, args.prefix, args.read_set)) > 1:
        raise Usage("give one of --key, --prefix or --read-set")
    if args.watch and (args.interval <= 0 or args.timeout < 0):
        raise Usage("--interval must be more than 0 seconds and --timeout 0 or more")
    uris = _uris(args, sequence_store_id)
    deadline = clock() + args.timeout
    while True:
        stories = [story for uri in uris for story in object_story(table_name, uri)]
        missing = sorted(set(uris) - {s["key"] for s in stories})
        if args.format == "json":
            print(json.dumps({"objects": stories, "notTracked": missing}, indent=2, ensure_ascii=False), file=out)
        else:
            print("\n".join(render_stories(stories, missing)), file=out)
        open_ones = [s for s in stories if s["status"] not in tracking.OBJECT_TERMINAL] + missing
        if not args.watch or not open_ones:
            return 2 if (args.key and missing and not args.watch) else 0
        if clock() >= deadline:
            print(f"{len(open_ones)} not final after {args.timeout:g} s", file=out)
            return 1
        out.flush()
        sleep(args.interval)


def _uris(args: argparse.Namespace, sequence_store_id: str | None) -> list[str]:
    if args.key:
        for uri in args.key:
            if split_s3_uri(uri) is None:
                raise Usage(f"--key {uri!r} is not an s3://bucket/key URI")
        return list(dict.fromkeys(args.key))
    if args.prefix:
        return _listed(args.prefix)
    if not sequence_store_id:
        raise Usage("--read-set needs the sequence store: give --stack or --sequence-store-id")
    return read_set_sources(args.read_set, sequence_store_id)


def _listed(prefix: str) -> list[str]:
    parts = split_s3_uri(prefix) or ((prefix[5:], "") if prefix.startswith("s3://") and len(prefix) > 5 else None)
    if parts is None:
        raise Usage(f"--prefix {prefix!r} is not an s3://bucket/prefix location")
    bucket, key_prefix = parts
    uris = []
    for page in clients.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key_prefix):
        uris += [f"s3://{bucket}/{item['Key']}" for item in page.get("Contents", [])]
    return uris


def read_set_sources(read_set_id: str, store_id: str) -> list[str]:
    """The S3 URIs a read set was imported from: its creating job's sources for it."""
    omics = clients.client("omics")
    metadata = omics.get_read_set_metadata(id=read_set_id, sequenceStoreId=store_id)
    job_id = metadata.get("creationJobId")
    if not job_id:
        raise Usage(f"read set {read_set_id} has no creationJobId: it was not imported from S3")
    job = omics.get_read_set_import_job(id=job_id, sequenceStoreId=store_id)
    for source in job.get("sources", []):
        if source.get("readSetId") == read_set_id:
            files = source.get("sourceFiles", {})
            return [files[name] for name in ("source1", "source2") if files.get(name)]
    raise Usage(f"import job {job_id} lists no source for read set {read_set_id}")


def object_story(table_name: str, uri: str) -> list[dict[str, Any]]:
    """One entry per tracked version of the object, oldest first."""
    table = tracking.Table(table_name)
    kwargs: dict[str, Any] = {
        "TableName": table.name,
        "KeyConditionExpression": "#pk = :pk",
        "ExpressionAttributeNames": {"#pk": "pk"},
        "ExpressionAttributeValues": tracking.serialize({":pk": f"{tracking.OBJECT_PREFIX}{uri}"}),
        "ConsistentRead": True,
    }
    items: list[dict[str, Any]] = []
    while True:
        response = table.client.query(**kwargs)
        items += [tracking.deserialize(raw) or {} for raw in response.get("Items", [])]
        if not response.get("LastEvaluatedKey"):
            break
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    read_sets: dict[str, dict[str, Any] | None] = {}
    stories = []
    for item in sorted(items, key=lambda i: str(i.get("receivedAt") or "")):
        rs_key = item.get("readSetKey")
        if rs_key and rs_key not in read_sets:
            read_sets[rs_key] = table.get(str(rs_key), tracking.READSET_SK)
        stories.append(_story(uri, item, read_sets.get(str(rs_key)) if rs_key else None))
    return stories


def _story(uri: str, item: Mapping[str, Any], read_set: Mapping[str, Any] | None) -> dict[str, Any]:
    read_set = read_set or {}
    items = {"object": item, "readset": read_set}
    metadata = read_set.get("metadata") if isinstance(read_set.get("metadata"), Mapping) else {}
    return {
        "key": uri,
        "versionId": item.get("versionId"),
        "status": item.get("status"),
        "reason": item.get("reason"),
        "fileType": item.get("fileType"),
        "readSet": {
            "key": item.get("readSetKey"),
            "status": read_set.get("status"),
            "readSetId": item.get("readSetId") or read_set.get("readSetId"),
            "name": read_set.get("name"),
            "sampleId": (metadata or {}).get("sampleId"),
            "subjectId": (metadata or {}).get("subjectId"),
        }
        if item.get("readSetKey")
        else None,
        "importJobId": item.get("importJobId") or read_set.get("importJobId"),
        "supersededBy": item.get("supersededBy"),
        "metadataNote": item.get("metadataNote"),
        "times": {label: items[kind].get(name) for label, kind, name in TIMES if items[kind].get(name)},
    }


def render_stories(stories: Sequence[Mapping[str, Any]], missing: Sequence[str]) -> list[str]:
    lines: list[str] = []
    for story in stories:
        lines.append(f"{printable(story['key'])}  (version {story['versionId']})")
        lines.append(
            f"  status         {story['status']}" + (f": {printable(story['reason'])}" if story["reason"] else "")
        )
        read_set = story["readSet"]
        if read_set:
            name = f" {printable(read_set['name'])!s}" if read_set.get("name") else ""
            sample = f", sample {printable(read_set['sampleId'])}" if read_set.get("sampleId") else ""
            lines.append(
                f"  read set       {read_set.get('readSetId') or '-'}{name} ({read_set.get('status')}{sample})"
            )
        if story["importJobId"]:
            lines.append(f"  import job     {story['importJobId']}")
        if story["supersededBy"]:
            lines.append(f"  replaced by version {story['supersededBy']}")
        if story.get("metadataNote"):
            lines.append(f"  metadata       {printable(story['metadataNote'])}")
        for label, stamp in story["times"].items():
            lines.append(f"  {label:<14} {stamp}")
    for uri in missing:
        lines.append(
            f"{printable(uri)}  not in the tracking table (no event reached intake: `omics-autoload backfill`)"
        )
    if not stories and not missing:
        lines.append("(none)")
    return lines
