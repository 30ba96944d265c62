"""Custom resource handlers that import a FASTA reference into a HealthOmics reference store.

Two entry points for the CDK Provider framework (``aws_cdk.custom_resources.Provider``):

- :func:`on_event` starts the work: ``StartReferenceImportJob`` on Create and on an
  Update that changes what is imported, nothing on an Update that changes nothing,
  ``DeleteReference`` on Delete when the removal policy is ``destroy``.
- :func:`is_complete` is called by the Provider's waiter every query interval until it
  says ``IsComplete: True`` (or the total timeout passes). It polls
  ``GetReferenceImportJob`` and, once the job has COMPLETED, returns the reference ARN
  and id as the resource's attributes.

Resource properties (all strings, set by the ``ReferenceGenome`` construct):
``ReferenceStoreId``, ``SourceFile`` (``s3://`` URI of the FASTA), ``ReferenceName``,
``Description`` (optional), ``RoleArn`` (the service role HealthOmics assumes to read the
FASTA) and ``RemovalPolicy`` (``retain`` or ``destroy``).

Physical resource ids
---------------------
- ``<reference ARN>#<fingerprint>`` once the reference exists. The fingerprint is a
  hash of what identifies the import (store id, source file, name). An Update whose
  new properties have the fingerprint of the current physical id imports nothing and
  returns the same id; any other Update imports a new reference and returns a new id,
  so CloudFormation deletes the old one (which the removal policy may retain). A
  rollback Update is therefore free when the old reference still exists.
- ``referenceImportJob/<store id>/<job id or "pending">#<fingerprint>`` while the
  import runs: only seen in the Delete that follows a failed or timed-out Create.

Why the import survives retries, timeouts and the one-import-at-a-time rule
---------------------------------------------------------------------------
- ``clientToken`` is the CloudFormation request id: a retried invocation for the same
  request gets the same job, never a second one.
- Before starting anything the handler looks for a job of its own: one started with the
  same service role (each ``ReferenceGenome`` has its own role), the same source file and
  name, in the last :data:`ADOPTION_WINDOW`, still running or COMPLETED with an ACTIVE
  reference. It adopts that job instead of starting another. This makes a deployment that
  timed out (CloudFormation gives a custom resource at most one hour) converge on the
  next attempt, and makes a rollback to earlier properties reuse the earlier reference.
- A reference store runs one reference import at a time. When the start is refused with
  a retryable error (:data:`WAIT_ERROR_CODES`) ``on_event`` does not fail: it records the
  job as pending, and every ``is_complete`` poll tries again (same client token) until the
  store is free or the total timeout passes.

Only stdlib and boto3 (through :mod:`.adapters.clients`) are used.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from omics_autoload_runtime.adapters import clients
from omics_autoload_runtime.errors import TRANSIENT, error_code, error_message

logger = logging.getLogger(__name__)

#: Error codes of the reference import calls that mean "not now": the store is busy with
#: another reference import (the service reports it as a quota or conflict error), or the
#: API is throttled or briefly unavailable. The call is retried at the next poll.
WAIT_ERROR_CODES = TRANSIENT | {"ConflictException"}
#: How far back to look for an import job of this resource to adopt.
ADOPTION_WINDOW = timedelta(days=7)

RUNNING = ("SUBMITTED", "IN_PROGRESS")
FAILED = ("FAILED", "CANCELLED", "CANCELLING", "COMPLETED_WITH_FAILURES")

_FINAL_ID = re.compile(
    r"^(?P<arn>arn:[^:]+:omics:[^:]*:[^:]*:referenceStore/(?P<store>[0-9]+)/reference/(?P<ref>[0-9]+))"
    r"#(?P<fp>[0-9a-f]{16})$"
)
_IMPORT_ID = re.compile(r"^referenceImportJob/(?P<store>[0-9]+)/(?P<job>[0-9]+|pending)#(?P<fp>[0-9a-f]{16})$")
PENDING = "pending"


class ReferenceImportError(RuntimeError):
    """The import cannot succeed: raised so that CloudFormation fails the deployment."""


@dataclass(frozen=True)
class ImportSpec:
    """What one reference import is, read from the resource properties."""

    reference_store_id: str
    source_file: str
    name: str
    role_arn: str
    description: str | None

    @classmethod
    def from_properties(cls, props: dict[str, Any]) -> ImportSpec:
        missing = [k for k in ("ReferenceStoreId", "SourceFile", "ReferenceName", "RoleArn") if not props.get(k)]
        if missing:
            raise ReferenceImportError(f"missing resource properties: {', '.join(missing)}")
        _removal_policy(props)
        return cls(
            reference_store_id=str(props["ReferenceStoreId"]),
            source_file=str(props["SourceFile"]),
            name=str(props["ReferenceName"]),
            role_arn=str(props["RoleArn"]),
            description=str(props["Description"]) if props.get("Description") else None,
        )

    @property
    def fingerprint(self) -> str:
        """Hash of what makes two imports the same reference (not role, description, policy)."""
        identity = json.dumps([self.reference_store_id, self.source_file, self.name])
        return hashlib.sha256(identity.encode()).hexdigest()[:16]

    def import_id(self, job_id: str | None) -> str:
        return f"referenceImportJob/{self.reference_store_id}/{job_id or PENDING}#{self.fingerprint}"

    def final_id(self, reference_arn: str) -> str:
        return f"{reference_arn}#{self.fingerprint}"


# --------------------------------------------------------------------------- entry points


def on_event(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Provider ``onEvent``: start the import, skip a no-op update, or delete."""
    request_type = event["RequestType"]
    logger.info(
        "on_event %s %s physical id %s",
        request_type,
        event.get("LogicalResourceId"),
        event.get("PhysicalResourceId"),
    )
    if request_type == "Delete":
        try:
            return _on_delete(event)
        except ClientError as error:
            raise ReferenceImportError(
                f"cannot delete {event.get('PhysicalResourceId')}: {_describe(error)}"
            ) from error
    spec = ImportSpec.from_properties(event.get("ResourceProperties", {}))
    if request_type == "Update":
        current = _FINAL_ID.match(event.get("PhysicalResourceId", ""))
        if current and current["fp"] == spec.fingerprint:
            logger.info("nothing to import: %s already holds %s", current["arn"], spec.source_file)
            return {
                "PhysicalResourceId": event["PhysicalResourceId"],
                "Data": {"ReferenceArn": current["arn"], "ReferenceId": current["ref"]},
            }
    elif request_type != "Create":
        raise ReferenceImportError(f"unknown RequestType {request_type!r}")
    job_id = _find_or_start(spec, _client_token(event))
    return {
        "PhysicalResourceId": spec.import_id(job_id),
        "ImportJob": {"ReferenceStoreId": spec.reference_store_id, "JobId": job_id},
    }


def is_complete(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Provider ``isComplete``: done yet? Raises when the import failed."""
    if event["RequestType"] == "Delete":
        return {"IsComplete": _deletion_finished(event)}
    pending = event.get("ImportJob")
    if not pending:  # no-op update: on_event already returned the attributes
        return {"IsComplete": True}
    spec = ImportSpec.from_properties(event.get("ResourceProperties", {}))
    job_id = pending.get("JobId") or _find_or_start(spec, _client_token(event))
    if job_id is None:
        logger.info("reference store %s is still busy: waiting to start the import", spec.reference_store_id)
        return {"IsComplete": False}
    try:
        return _import_result(spec, job_id)
    except ClientError as error:
        if error_code(error) in WAIT_ERROR_CODES:  # an error here would fail the deployment
            logger.info("cannot read import job %s now (%s): will retry", job_id, error_code(error))
            return {"IsComplete": False}
        raise ReferenceImportError(f"cannot read reference import job {job_id}: {_describe(error)}") from error


def _import_result(spec: ImportSpec, job_id: str) -> dict[str, Any]:
    job = clients.client("omics").get_reference_import_job(id=job_id, referenceStoreId=spec.reference_store_id)
    status = job["status"]
    logger.info("reference import job %s is %s", job_id, status)
    if status in RUNNING:
        return {"IsComplete": False}
    if status in FAILED:
        raise ReferenceImportError(_failure_message(job))
    source = (job.get("sources") or [{}])[0]
    reference_id = source.get("referenceId")
    if status != "COMPLETED" or source.get("status") == "FAILED" or not reference_id:
        raise ReferenceImportError(_failure_message(job))
    metadata = clients.client("omics").get_reference_metadata(id=reference_id, referenceStoreId=spec.reference_store_id)
    reference_arn = metadata["arn"]
    return {
        "IsComplete": True,
        "PhysicalResourceId": spec.final_id(reference_arn),
        "Data": {"ReferenceArn": reference_arn, "ReferenceId": reference_id},
    }


# --------------------------------------------------------------------------- import


def _removal_policy(props: dict[str, Any]) -> str:
    policy = str(props.get("RemovalPolicy", "retain")).lower()
    if policy not in ("retain", "destroy"):
        raise ReferenceImportError(f"RemovalPolicy {policy!r} must be 'retain' or 'destroy'")
    return policy


def _client_token(event: dict[str, Any]) -> str:
    # One CloudFormation request, one job: retried invocations reuse the token.
    return str(event["RequestId"])[:127]


def _describe(error: ClientError) -> str:
    return f"{error_code(error)}: {error_message(error)}"


def _find_or_start(spec: ImportSpec, client_token: str) -> str | None:
    """The job to wait for: one of ours to adopt, else a new one; ``None`` if not now."""
    try:
        return _find_own_import(spec) or _start_import(spec, client_token)
    except ClientError as error:
        if error_code(error) in WAIT_ERROR_CODES:
            logger.info("cannot look for or start the import now (%s): will retry", error_code(error))
            return None
        raise ReferenceImportError(
            f"cannot import {spec.source_file} into reference store {spec.reference_store_id}: {_describe(error)}"
        ) from error


def _start_import(spec: ImportSpec, client_token: str) -> str | None:
    """Start the import; ``None`` when the store is busy (retry at the next poll)."""
    source: dict[str, Any] = {"sourceFile": spec.source_file, "name": spec.name}
    if spec.description:
        source["description"] = spec.description
    try:
        response = clients.client("omics").start_reference_import_job(
            referenceStoreId=spec.reference_store_id,
            roleArn=spec.role_arn,
            clientToken=client_token,
            sources=[source],
        )
    except ClientError as error:
        if error_code(error) in WAIT_ERROR_CODES:
            logger.info("cannot start the import yet (%s): will retry", _describe(error))
            return None
        raise
    job_id: str = response["id"]
    logger.info("started reference import job %s for %s", job_id, spec.source_file)
    return job_id


def _find_own_import(spec: ImportSpec) -> str | None:
    """A recent job of this resource for the same file and name: running, or done with an
    ACTIVE reference."""
    client = clients.client("omics")
    summaries: list[dict[str, Any]] = []
    request: dict[str, Any] = {
        "referenceStoreId": spec.reference_store_id,
        "filter": {"createdAfter": datetime.now(UTC) - ADOPTION_WINDOW},
    }
    while True:
        page = client.list_reference_import_jobs(**request)
        summaries.extend(page.get("importJobs", []))
        if not page.get("nextToken"):
            break
        request["nextToken"] = page["nextToken"]
    own = [s for s in summaries if s.get("roleArn") == spec.role_arn and s.get("status") in (*RUNNING, "COMPLETED")]
    own.sort(key=lambda s: s["creationTime"], reverse=True)
    for summary in own:
        job = client.get_reference_import_job(id=summary["id"], referenceStoreId=spec.reference_store_id)
        sources = job.get("sources") or []
        if len(sources) != 1 or sources[0].get("sourceFile") != spec.source_file or sources[0].get("name") != spec.name:
            continue
        if job["status"] == "COMPLETED":
            reference_id = sources[0].get("referenceId")
            if not reference_id or not _is_active(spec.reference_store_id, reference_id):
                continue
        logger.info(
            "adopting reference import job %s (%s) for %s",
            job["id"],
            job["status"],
            spec.source_file,
        )
        job_id: str = job["id"]
        return job_id
    return None


def _is_active(reference_store_id: str, reference_id: str) -> bool:
    try:
        metadata = clients.client("omics").get_reference_metadata(id=reference_id, referenceStoreId=reference_store_id)
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            return False
        raise
    return metadata.get("status", "ACTIVE") == "ACTIVE"


def _failure_message(job: dict[str, Any]) -> str:
    parts = [f"reference import job {job['id']} ended {job['status']}"]
    if job.get("statusMessage"):
        parts.append(job["statusMessage"])
    for source in job.get("sources") or []:
        if source.get("statusMessage") and source.get("statusMessage") != job.get("statusMessage"):
            parts.append(f"{source.get('sourceFile')}: {source['statusMessage']}")
    return ": ".join(parts)


# --------------------------------------------------------------------------- delete


def _on_delete(event: dict[str, Any]) -> dict[str, Any]:
    physical_id = event.get("PhysicalResourceId", "")
    response = {"PhysicalResourceId": physical_id}
    policy = _removal_policy(event.get("ResourceProperties", {}))
    if policy != "destroy":
        logger.info("removal policy %s: keeping %s", policy, physical_id)
        return response
    final = _FINAL_ID.match(physical_id)
    if final:
        _delete_reference(final["store"], final["ref"])
        return response
    started = _IMPORT_ID.match(physical_id)
    if started and started["job"] != PENDING:
        # The Create or Update that started this job failed or timed out.
        _delete_import_result(started["store"], started["job"])
        return response
    logger.info("no reference behind physical id %s: nothing to delete", physical_id)
    return response


def _delete_import_result(reference_store_id: str, job_id: str) -> None:
    try:
        job = clients.client("omics").get_reference_import_job(id=job_id, referenceStoreId=reference_store_id)
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            return
        raise
    if job["status"] in RUNNING:
        # HealthOmics has no API to cancel a reference import.
        logger.warning(
            "reference import job %s is still %s: its reference will stay in store %s "
            "(deploy again to adopt it, or delete it when the job ends)",
            job_id,
            job["status"],
            reference_store_id,
        )
        return
    for source in job.get("sources") or []:
        if source.get("referenceId"):
            _delete_reference(reference_store_id, source["referenceId"])


def _delete_reference(reference_store_id: str, reference_id: str) -> None:
    try:
        clients.client("omics").delete_reference(id=reference_id, referenceStoreId=reference_store_id)
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            logger.info("reference %s is already gone", reference_id)
            return
        raise ReferenceImportError(
            f"cannot delete reference {reference_id} from store {reference_store_id}: "
            f"{_describe(error)} (set the removal policy to RETAIN to keep it)"
        ) from error
    logger.info("deleted reference %s from store %s", reference_id, reference_store_id)


def _deletion_finished(event: dict[str, Any]) -> bool:
    """Wait until a destroyed reference is gone, so that its store can be deleted next."""
    final = _FINAL_ID.match(event.get("PhysicalResourceId", ""))
    if _removal_policy(event.get("ResourceProperties", {})) != "destroy" or not final:
        return True
    try:
        metadata = clients.client("omics").get_reference_metadata(id=final["ref"], referenceStoreId=final["store"])
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            return True
        if error_code(error) in WAIT_ERROR_CODES:
            return False
        raise ReferenceImportError(f"cannot read reference {final['ref']}: {_describe(error)}") from error
    return metadata.get("status") == "DELETED"
