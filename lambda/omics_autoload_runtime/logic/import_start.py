"""StartImport task of the import workflow: one StartReadSetImportJob for the batch.

Input ``{"batchId", "readSetKeys"}``; output ``{"batchId", "jobId", "readSetKeys"}`` with
``jobId`` null when nothing was left to submit and ``readSetKeys`` the read sets submitted.

Only read sets this batch holds (STARTING with our batchId) are submitted. Invalid ones
are marked FAILED (or their files SKIPPED when no reference genome is configured) before
the call. Each BAM/CRAM source gets the ARN of its own reference (``domain.references``:
a key rule, or the @SQ lines intake recorded from its header); one whose reference is
not configured, or cannot be told, is FAILED with the reason, never given another's.
Sources of one job may each name a different reference (``referenceArn`` is a member of
each source in the model, not of the job), so batches mix references freely.

HealthOmics reads ``s3://bucket/key`` without a version, so each file's key is
checked first (HeadObject): a read set whose tracked version is no longer the current one
is not imported but SUPERSEDED, with its files; the newer version has its own item and
is imported on its own. The call is idempotent: ``clientToken`` is a function of the batch
and the exact sources it sends, in order (``client_token``), and the batch records each read
set's source before the call (one write-once item, ``Tracking.put_sent``), so every repeat
of the start (a retried task, the sweep's re-issue for an ended workflow) sends the same
request and gets the same job back, whatever changed since (a newer version, the reference
parameter, the configuration); a start without the sources the service refused is a
different request, with its own token.
Errors carry the Step Functions error names in their class names:
``OmicsThrottled``, ``OmicsQuotaExceeded``, ``OmicsUnavailable`` are retried by the state
machine with backoff; anything else (``ImportRejected``...) fails the batch, whose files
RecordFailure then marks FAILED with the reason.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from omics_autoload_runtime import settings
from omics_autoload_runtime.adapters import clients, objects, rate_limit, tracking
from omics_autoload_runtime.adapters.metrics import Metrics
from omics_autoload_runtime.adapters.notices import (
    FILE_FAILED,
    FILE_SKIPPED,
    log_outcome,
    notifier_for,
    redact,
)
from omics_autoload_runtime.adapters.table import iso, now
from omics_autoload_runtime.adapters.tracking import Tracking
from omics_autoload_runtime.contract import Dimension, Metric, SkipCode
from omics_autoload_runtime.domain import limits
from omics_autoload_runtime.domain.classify import FileRole, Skip
from omics_autoload_runtime.domain.pairing import assemble
from omics_autoload_runtime.domain.read_sets import ReadSet
from omics_autoload_runtime.domain.references import Reference, Refused, choose
from omics_autoload_runtime.errors import ImportRejected, error_code, error_message, translate

LOG = logging.getLogger(__name__)


# ------------------------------------------------------------------ reference genome

NO_REFERENCE = (
    "no reference genome configured: {file_type} files need one to be imported ({why}); give"
    " OmicsAutoLoad a reference genome, then run `omics-autoload redrive`"
)


def resolve(reference: Reference) -> tuple[str | None, str]:
    """(the reference's ARN or None, why there is none): static, or read from its SSM parameter."""
    if reference.arn:
        return reference.arn, ""
    name = reference.parameter_name
    try:
        response = clients.client("ssm").get_parameter(Name=name)
    except ClientError as error:
        if error_code(error) == "ParameterNotFound":
            return None, f"SSM parameter {name} does not exist"
        raise translate(error, f"GetParameter {name}") from error
    except BotoCoreError as error:
        raise translate(error, f"GetParameter {name}") from error
    value = (response.get("Parameter", {}).get("Value") or "").strip()
    if not value.startswith("arn:"):
        return None, f"SSM parameter {name} holds no reference ARN"
    return value, ""


def header_of(item: Mapping[str, Any]) -> tuple[str, Mapping[str, Any] | None]:
    """(object key, the header facts intake recorded) of a read set's first file."""
    files = tracking.readset_files(item)
    first = files[0] if files else {}
    uri = str(first.get("uri") or "")
    return uri.removeprefix("s3://").partition("/")[2], first.get("header")


# ------------------------------------------------------------------ building sources


def roles_of(item: Mapping[str, Any]) -> list[FileRole]:
    roles = []
    # The stored role leaves out what the read set says (intake's ``STORED_ELSEWHERE``);
    # roles stored before that have every field, and theirs win.
    shared = {"file_type": item.get("fileType"), "group_key": tracking.group_key_of(item), "name": item.get("name")}
    for entry in tracking.readset_files(item):
        data = json.loads(entry["role"])
        data.pop("partner_uri", None)  # a file name only, for the sweep's orphan message
        roles.append(FileRole(**{**shared, "uri": entry["uri"], **data}))
    if item.get("singleEnd") and roles:
        roles = [replace(roles[0], mate=None)]
    return roles


def overrides_of(item: Mapping[str, Any]) -> dict[str, str]:
    """Tag overrides of the files; source1's win over source2's."""
    merged: dict[str, str] = {}
    for entry in reversed(tracking.readset_files(item)):
        merged.update(entry.get("overrides") or {})
    return merged


def build(item: Mapping[str, Any], options: Any, reference: str | None) -> ReadSet | list[Skip]:
    return assemble(roles_of(item), options, reference_arn=reference, overrides=overrides_of(item))


def replaced_files(item: Mapping[str, Any]) -> dict[str, str]:
    """The files of a read set whose key serves a newer version now: uri -> that version."""
    newer = {entry["uri"]: objects.replacement(entry) for entry in tracking.readset_files(item)}
    return {uri: version for uri, version in newer.items() if version is not None}


_SOURCE_INDEX = re.compile(r"sources\.(\d+)\.member")

Source = dict[str, Any]  # one ``sources`` item of StartReadSetImportJob


def client_token(batch_id: str, sources: Sequence[Source]) -> str:
    """The start's clientToken: the same for the same request, and only for it."""
    request = json.dumps([batch_id, list(sources)], sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(request.encode()).hexdigest()
    return f"{batch_id[:60]}-{digest[:40]}"  # within CLIENT_TOKEN_LENGTH


def sent_before(tr: Tracking, item: Mapping[str, Any], batch_id: str) -> dict[str, Any] | None:
    """What this batch's start sent for the read set ({"source", "reference"}: an earlier
    try recorded it), else None; an earlier batch's record (before a redrive) is not this
    start's: records are by batch."""
    return (tr.sent(batch_id) or {}).get(str(item["pk"]))


class ImportStart:
    def __init__(self, cfg: settings.Config):
        self.cfg = cfg
        self.tracking = Tracking(cfg.table_name)
        self.metrics = Metrics(cfg.metrics_namespace)
        self.notifier = notifier_for(cfg)
        self._arns: dict[str, tuple[str | None, str]] = {}  # reference name -> (ARN, why none)
        self._choices: dict[str, str | None] = {}  # read set key -> the reference chosen, and why
        self._sent: dict[str, Any] = {}  # read set key -> what an earlier try of the batch sent for it

    def _fail(
        self,
        item: Mapping[str, Any],
        batch_id: str,
        reason: str,
        object_reasons: Mapping[str, str] | None = None,
        skip_code: SkipCode | None = None,
    ) -> None:
        """The read set FAILED; its files FAILED too, or SKIPPED with `skip_code` when given."""
        object_status = tracking.FAILED if skip_code is None else tracking.SKIPPED
        reasons = dict(object_reasons or {})
        moved = self.tracking.move_read_set(
            item,
            tracking.FAILED,
            expect=(tracking.STARTING,),
            batch_id=batch_id,
            reason=reason,
            files=tracking.FileMove(
                object_status, (tracking.QUEUED, tracking.WAITING_FOR_MATE), reason=reason, reasons=reasons
            ),
        )
        for uri in moved or ():
            self._report_file(uri, reasons.get(uri, reason), item.get("fileType"), skip_code)
        LOG.info("%s -> %s: %s", item["pk"], tracking.FAILED, reason if self.cfg.log_identifiers else redact(reason))

    def _supersede(self, item: Mapping[str, Any], batch_id: str, replaced: Mapping[str, str]) -> None:
        """A newer version replaced a file before the import: the read set and its files end
        SUPERSEDED, in one transaction (docs/state-model.md)."""
        reasons: dict[str, str] = {}
        for entry in tracking.readset_files(item):
            uri = entry["uri"]
            if uri in replaced:
                reasons[uri] = (
                    f"not imported: version {replaced[uri]} of this object replaced this version"
                    f" ({objects.tracked_version(entry)}) before its import started; the newer version"
                    " is tracked, and imported, on its own"
                )
            else:
                reasons[uri] = (
                    f"not imported: its mate {', '.join(replaced)} was replaced by a newer version before"
                    " the import started; upload this file again to pair it with the new version"
                )
        moved = self.tracking.move_read_set(
            item,
            tracking.SUPERSEDED,
            expect=(tracking.STARTING,),
            batch_id=batch_id,
            reason=f"a newer version of {', '.join(replaced)} was uploaded before the import started",
            files=tracking.FileMove(
                tracking.SUPERSEDED, (tracking.QUEUED, tracking.WAITING_FOR_MATE), reasons=reasons
            ),
        )
        for uri in moved or ():
            self._report_file(uri, reasons[uri], item.get("fileType"), SkipCode.REUPLOAD, tracking.SUPERSEDED)

    def _report_file(
        self,
        uri: str,
        reason: str,
        file_type: str | None,
        skip_code: SkipCode | None,
        status: str = tracking.SKIPPED,
    ) -> None:
        """Log, count and (when FAILED) notify one file that ends here, before any import;
        ``status`` is the one a file not FAILED (given a ``skip_code``) ended in."""
        store: dict[str, str] = {Dimension.SEQUENCE_STORE_ID: self.cfg.sequence_store_id or "unknown"}
        allowed = self.cfg.log_identifiers
        if skip_code is not None:
            self.metrics.count(Metric.FILES_SKIPPED, dimensions={**store, Dimension.REASON: skip_code})
            log_outcome(LOG, FILE_SKIPPED, uri, status=status, reason=reason, log_identifiers=allowed)
            return
        self.metrics.count(Metric.FILES_FAILED, dimensions={**store, Dimension.FILE_TYPE: file_type or "UNKNOWN"})
        log_outcome(LOG, FILE_FAILED, uri, status=tracking.FAILED, reason=reason, log_identifiers=allowed)
        self.notifier.file_failed(uri, reason)

    def flush(self) -> None:
        self.metrics.flush()
        self.notifier.flush()

    def run(self, batch_id: str, keys: Sequence[str]) -> dict[str, Any]:
        items = self.tracking.table.get_many([(key, tracking.READSET_SK) for key in keys])
        mine, submitted_before = [], []
        for key in keys:
            item = items.get((key, tracking.READSET_SK))
            if not item or item.get("batchId") != batch_id:
                continue
            if item.get("status") == tracking.STARTING:
                mine.append(item)
            elif item.get("status") == tracking.IMPORTING and item.get("importJobId"):
                submitted_before.append(item)
        if submitted_before and not mine:  # a retry after everything was recorded
            job_id = submitted_before[0]["importJobId"]
            return {
                "batchId": batch_id,
                "jobId": job_id,
                "readSetKeys": [i["pk"] for i in submitted_before],
            }

        ready: list[tuple[Mapping[str, Any], Source]] = []
        self._sent = self.tracking.sent(batch_id) or {}
        for item in mine:
            sent = self._sent.get(item["pk"])
            if sent is not None:  # it may have been started: send it as it was, unchecked
                self._choices[item["pk"]] = sent.get("reference")
                ready.append((item, sent["source"]))
                continue
            file_type = item.get("fileType")
            reference = None
            if file_type in limits.ALIGNED_FILE_TYPES:
                reference = self._reference(item, batch_id)
                if reference is None:
                    continue
            try:
                outcome = build(item, self.cfg.assembly_options, reference)
            except (ValueError, TypeError, KeyError) as error:
                self._fail(
                    item,
                    batch_id,
                    f"cannot build the import source: {type(error).__name__}: {error}",
                )
                continue
            if isinstance(outcome, list):
                reason = "; ".join(dict.fromkeys(skip.reason for skip in outcome))
                self._fail(item, batch_id, reason, {skip.uri: skip.reason for skip in outcome})
                continue
            replaced = replaced_files(item)
            if replaced:
                self._supersede(item, batch_id, replaced)
                continue
            ready.append((item, outcome.to_import_source()))
        ready.extend(self._already(batch_id, submitted_before))
        # The batch's own order, however a crashed attempt left the statuses: a retry sends
        # the same sources in the same order (same clientToken, same job), so each recorded
        # sourceIndex still points at its own source of the job.
        position = {key: index for index, key in enumerate(keys)}
        ready.sort(key=lambda pair: position[pair[0]["pk"]])
        if not ready:
            return {"batchId": batch_id, "jobId": None, "readSetKeys": []}
        job_id, ready = self._start(batch_id, ready)
        if job_id is None:
            return {"batchId": batch_id, "jobId": None, "readSetKeys": []}
        self._record(job_id, batch_id, ready)
        return {
            "batchId": batch_id,
            "jobId": job_id,
            "readSetKeys": [item["pk"] for item, _ in ready],
        }

    def _reference(self, item: Mapping[str, Any], batch_id: str) -> str | None:
        """The ARN of the reference this aligned read set was aligned to; None when it ended here:
        SKIPPED when no reference (ARN) is configured, FAILED when none of them is its own."""
        file_type = item.get("fileType")
        references = self.cfg.reference_set()
        if not references.configured:
            why = "neither a reference ARN nor a reference parameter is set"
            self._fail(
                item, batch_id, NO_REFERENCE.format(file_type=file_type, why=why), skip_code=SkipCode.NO_REFERENCE
            )
            return None
        key, header = header_of(item)
        choice = choose(key, header, references)
        if isinstance(choice, Refused):
            self._fail(item, batch_id, f"no reference genome for this {file_type}: {choice.reason}")
            return None
        name = choice.reference.name
        if name not in self._arns:  # one SSM read per reference and batch
            self._arns[name] = resolve(choice.reference)
        arn, why = self._arns[name]
        if arn is None:
            if len(references.references) > 1:
                why = f"reference {name}: {why}"
            self._fail(
                item, batch_id, NO_REFERENCE.format(file_type=file_type, why=why), skip_code=SkipCode.NO_REFERENCE
            )
            return None
        self._choices[item["pk"]] = f"{name} ({choice.why})"
        return arn

    def _already(self, batch_id: str, items: Sequence[Mapping[str, Any]]) -> list[tuple[Mapping[str, Any], Source]]:
        """Read sets a crashed earlier attempt already recorded IMPORTING: same sources again."""
        out = []
        for item in items:
            sent = self._sent.get(item["pk"])
            if sent is not None:
                self._choices[item["pk"]] = sent.get("reference")
                out.append((item, sent["source"]))
                continue
            outcome = build(item, self.cfg.assembly_options, item.get("referenceArn"))  # from before SENT records
            if isinstance(outcome, ReadSet):
                out.append((item, outcome.to_import_source()))
        return out

    def _note_sent(self, batch_id: str, ready: list[tuple[Mapping[str, Any], Source]]) -> list:
        """Record what the batch sends before the call (once: a record already there wins,
        and a read set it does not name is not sent: the first try did not send it)."""
        if not self._sent:
            sent = {
                item["pk"]: {"source": source, "reference": self._choices.get(item["pk"])} for item, source in ready
            }
            self._sent = self.tracking.put_sent(batch_id, sent)
        kept = []
        for item, _ in ready:
            if item["pk"] in self._sent:
                kept.append((item, self._sent[item["pk"]]["source"]))
            elif item.get("status") == tracking.STARTING:
                # Never sent by this batch (the record is written before any call), so no job
                # can hold it; adding it would change the request, and its token, for the rest.
                self._fail(
                    item,
                    batch_id,
                    f"it was not part of batch {batch_id}'s import start; run `omics-autoload redrive`",
                )
        return kept

    def _start(self, batch_id: str, ready: list[tuple[Mapping[str, Any], Source]]) -> tuple[str | None, list]:
        """StartReadSetImportJob; a source the service names as invalid is failed and dropped."""
        ready = self._note_sent(batch_id, ready)
        while ready:
            sources = [source for _, source in ready]
            rate_limit.take("StartReadSetImportJob")  # client-side quota: raises OmicsThrottled
            try:
                response = clients.client("omics").start_read_set_import_job(
                    sequenceStoreId=self.cfg.sequence_store_id,
                    roleArn=self.cfg.import_role_arn,
                    clientToken=client_token(batch_id, sources),
                    sources=sources,
                )
            except (ClientError, BotoCoreError) as error:
                translated = translate(error, "StartReadSetImportJob")
                bad = self._invalid_sources(error, len(ready)) if isinstance(translated, ImportRejected) else set()
                if not bad or len(bad) >= len(ready):
                    raise translated from error
                message = str(translated)
                for index in sorted(bad):
                    item, _ = ready[index]
                    self._fail(item, batch_id, f"HealthOmics rejected this read set: {message}")
                ready = [pair for index, pair in enumerate(ready) if index not in bad]
                continue
            return response["id"], ready
        return None, []

    @staticmethod
    def _invalid_sources(error: Exception, count: int) -> set[int]:
        if not isinstance(error, ClientError) or error_code(error) != "ValidationException":
            return set()
        message = error_message(error)
        return {int(n) - 1 for n in _SOURCE_INDEX.findall(message) if 0 < int(n) <= count}

    def _record(self, job_id: str, batch_id: str, ready: list[tuple[Mapping[str, Any], Source]]) -> None:
        keys = [item["pk"] for item, _ in ready]
        files = [entry for item, _ in ready for entry in tracking.readset_files(item)]
        total_bytes = sum(int(entry.get("size") or 0) for entry in files)
        # "Stuck" is this job's own expected progress, not a flat age: its read sets are due
        # for the sweep (and counted stuck) only once the job runs past that.
        stuck_at = tracking.stuck_at(now(), total_bytes, self.cfg.stuck_after_seconds)
        self.tracking.put_job(
            job_id,
            {
                "batchId": batch_id,
                "readSetKeys": keys,
                "sourceCount": len(ready),
                "fileCount": len(files),
                "totalBytes": total_bytes,
                "stuckAt": stuck_at,
                "nextPollAt": int(now() + self.cfg.first_poll_seconds),
            },
        )
        for index, (item, source) in enumerate(ready):
            # What the import was given that the read set's own fields do not say already.
            metadata = {"subjectId": source["subjectId"], "sampleId": source["sampleId"]}
            if source["name"] != item.get("name"):
                metadata["name"] = source["name"]
            if source["sourceFileType"] != item.get("fileType"):
                metadata["fileType"] = source["sourceFileType"]
            self.tracking.move_read_set(
                item,
                tracking.IMPORTING,
                expect=(tracking.STARTING, tracking.IMPORTING),
                batch_id=batch_id,
                extra={
                    "importJobId": job_id,
                    "sourceIndex": index,
                    "metadata": metadata,
                    "referenceArn": source.get("referenceArn"),
                    "reference": self._choices.get(item["pk"]),
                    "importStartedAt": iso(),
                    "startingAt": None,  # only a claim's age needs it
                },
                files=None,  # the read set says IMPORTING; its files' items wait for the outcome
            )
        LOG.info("batch %s: import job %s started with %d read set(s)", batch_id, job_id, len(ready))
