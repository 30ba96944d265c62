"""The HealthOmics test double must reject what the real service rejects."""

from __future__ import annotations

import threading
import unicodedata

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError
from hypothesis import given, settings
from hypothesis import strategies as st
from support.omics_double import OmicsDouble, shape_errors

ROLE = "arn:aws:iam::123456789012:role/omics-import"


def fastq(sample="NA12878", **extra) -> dict:
    return {
        "sourceFiles": {"source1": f"s3://my-bucket/{sample}_R1.fastq.gz"},
        "sourceFileType": "FASTQ",
        "subjectId": "subject-1",
        "sampleId": sample,
        **extra,
    }


@pytest.fixture
def omics() -> OmicsDouble:
    return OmicsDouble()


@pytest.fixture
def store(omics) -> str:
    return omics.create_sequence_store()


def import_reference(omics: OmicsDouble, name="GRCh38") -> str:
    ref_store = omics.create_reference_store()
    omics.client.start_reference_import_job(
        referenceStoreId=ref_store, roleArn=ROLE,
        sources=[{"sourceFile": "s3://my-bucket/ref/GRCh38.fa", "name": name}],
    )
    omics.advance(omics.job_duration_seconds)
    return next(r["arn"] for r in omics.references.values() if r["name"] == name)


def start(omics, store, sources, **kw) -> dict:
    return omics.client.start_read_set_import_job(
        sequenceStoreId=store, roleArn=ROLE, sources=sources, **kw)


def error_of(excinfo) -> tuple[str, int, str]:
    err = excinfo.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Message"]


# ------------------------------------------------------------------ model validation
@pytest.mark.parametrize(
    ("change", "path", "rule"),
    [
        ({"sourceFileType": "FASTA"}, "sources.1.member.sourceFileType", "enum value set"),
        ({"sampleId": "NA\x0112878"}, "sources.1.member.sampleId", "regular expression"),
        ({"sampleId": "S" * 128}, "sources.1.member.sampleId", "less than or equal to 127"),
        ({"name": "n" * 128}, "sources.1.member.name", "less than or equal to 127"),
        ({"subjectId": "tab\there"}, "sources.1.member.subjectId", "regular expression"),
        ({"description": "d" * 256}, "sources.1.member.description", "less than or equal to 255"),
        ({"sourceFiles": {"source1": "s3://My_Bucket/x.fq"}},
         "sources.1.member.sourceFiles.source1", "regular expression"),
        ({"sourceFiles": {"source1": "https://my-bucket/x.fq"}},
         "sources.1.member.sourceFiles.source1", "regular expression"),
        ({"tags": {"k" * 129: "v"}}, "sources.1.member.tags", "less than or equal to 128"),
    ],
)
def test_source_item_constraints_rejected(omics, store, change, path, rule):
    with pytest.raises(omics.client.exceptions.ValidationException) as excinfo:
        start(omics, store, [fastq(**{}) | change])
    code, status, message = error_of(excinfo)
    assert (code, status) == ("ValidationException", 400)
    assert path in message and rule in message
    assert omics.import_jobs_started() == 0


def test_error_message_names_the_value_escaped(omics, store):
    with pytest.raises(ClientError) as excinfo:
        start(omics, store, [fastq(sampleId="NA\x0112878")])
    assert "Value 'NA\\u000112878'" in error_of(excinfo)[2]


@pytest.mark.parametrize(
    "good",
    [
        {"sampleId": "S" * 127, "name": "n" * 127, "subjectId": "Ünïcödé subject 1"},
        {"sampleId": "NA12878|lane-1 (re-run)", "description": "d" * 255},
        {"sourceFiles": {"source1": "s3://a.b-c/k e y/+x.fastq.gz",
                         "source2": "s3://a.b-c/k e y/+x_R2.fastq.gz"}},
        {"sourceFileType": "UBAM", "sourceFiles": {"source1": "s3://my-bucket/x.bam"}},
    ],
)
def test_good_requests_accepted(omics, store, good):
    job = start(omics, store, [fastq() | good])
    assert job["status"] == "SUBMITTED"
    assert omics.import_jobs_started() == 1


def test_sources_list_bounds(omics, store):
    with pytest.raises(ClientError) as excinfo:
        start(omics, store, [fastq(f"s{i}") for i in range(101)])
    assert "sources" in error_of(excinfo)[2] and "less than or equal to 100" in error_of(excinfo)[2]
    assert start(omics, store, [fastq(f"s{i}") for i in range(100)])["status"] == "SUBMITTED"
    with pytest.raises(ParamValidationError):  # botocore itself checks the minimum
        start(omics, store, [])


def test_integer_range_and_client_token(omics, store):
    with pytest.raises(ClientError) as excinfo:
        omics.client.list_read_sets(sequenceStoreId=store, maxResults=101)
    assert "maxResults" in error_of(excinfo)[2]
    assert omics.client.list_read_sets(sequenceStoreId=store, maxResults=100)["readSets"] == []
    with pytest.raises(ClientError):
        start(omics, store, [fastq()], clientToken="t" * 128)
    with pytest.raises(ClientError):
        start(omics, store, [fastq()], clientToken="new\nline")


def test_list_filter_enum_is_validated(omics, store):
    with pytest.raises(ClientError, match="enum value set"):
        omics.client.list_read_set_import_jobs(sequenceStoreId=store, filter={"status": "DONE"})


def test_store_id_pattern_is_validated(omics):
    with pytest.raises(ClientError, match="regular expression"):
        omics.client.get_sequence_store(id="abcdefghij")


def test_every_served_response_satisfies_its_output_shape(omics, store):
    # shape_errors(output=True) is what the double asserts on every response; prove it bites
    shape = omics.client.meta.service_model.operation_model("GetSequenceStore").output_shape
    assert shape_errors(shape, {"id": "1234567890"}, output=True)  # arn, creationTime missing
    assert shape_errors(shape, {"id": "1", "arn": "arn:x", "creationTime": 0}, output=True)
    good = omics.client.get_sequence_store(id=store)
    body = {k: v for k, v in good.items() if k != "ResponseMetadata"}
    assert shape_errors(shape, body, output=True) == []


# ------------------------------------------------------------------ semantic rules
def test_unknown_store_is_resource_not_found(omics):
    with pytest.raises(omics.client.exceptions.ResourceNotFoundException) as excinfo:
        start(omics, "9999999999", [fastq()])
    assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(omics.client.exceptions.ResourceNotFoundException):
        omics.client.start_reference_import_job(
            referenceStoreId="9999999999", roleArn=ROLE,
            sources=[{"sourceFile": "s3://my-bucket/r.fa", "name": "ref"}])


@pytest.mark.parametrize(
    "role",
    ["arn:aws:s3:::my-bucket-not-a-role", "arn:aws:iam::123456789012:user/alice",
     "arn:aws:iam::1234:role/short-account"],
)
def test_role_arn_must_be_an_iam_role(omics, store, role):
    with pytest.raises(omics.client.exceptions.ValidationException, match="roleArn"):
        omics.client.start_read_set_import_job(
            sequenceStoreId=store, roleArn=role, sources=[fastq()])


def test_service_role_path_is_accepted(omics, store):
    job = omics.client.start_read_set_import_job(
        sequenceStoreId=store, roleArn="arn:aws:iam::123456789012:role/service-role/omics",
        sources=[fastq()])
    assert job["status"] == "SUBMITTED"


@pytest.mark.parametrize("ftype", ["BAM", "CRAM", "UBAM"])
def test_source2_only_for_fastq(omics, store, ftype):
    ref = import_reference(omics)
    src = fastq(sourceFileType=ftype, sourceFiles={
        "source1": "s3://my-bucket/a.bam", "source2": "s3://my-bucket/b.bam"})
    if ftype != "UBAM":
        src["referenceArn"] = ref
    with pytest.raises(omics.client.exceptions.ValidationException, match="source2"):
        start(omics, store, [src])


@pytest.mark.parametrize("ftype", ["BAM", "CRAM"])
def test_reference_arn_required_and_must_exist_for_aligned_files(omics, store, ftype):
    src = fastq(sourceFileType=ftype, sourceFiles={"source1": "s3://my-bucket/a.bam"})
    with pytest.raises(omics.client.exceptions.ValidationException, match="referenceArn"):
        start(omics, store, [src])
    bogus = "arn:aws:omics:us-east-1:123456789012:referenceStore/1234567890/reference/1234567890"
    with pytest.raises(omics.client.exceptions.ValidationException, match="referenceArn"):
        start(omics, store, [src | {"referenceArn": bogus}])
    ref = import_reference(omics)
    assert start(omics, store, [src | {"referenceArn": ref}])["status"] == "SUBMITTED"


def test_reference_arn_ignored_for_fastq_and_ubam(omics, store):
    bogus = "arn:aws:omics:us-east-1:123456789012:referenceStore/1234567890/reference/1234567890"
    start(omics, store, [fastq(referenceArn=bogus)])
    omics.advance(60)
    (read_set,) = omics.read_sets.values()
    assert read_set["referenceArn"] is None


def test_client_token_is_idempotent_per_store(omics, store):
    first = start(omics, store, [fastq()], clientToken="batch-0001")
    again = start(omics, store, [fastq()], clientToken="batch-0001")
    assert again["id"] == first["id"]
    assert omics.import_jobs_started() == 1
    other_store = omics.create_sequence_store("other")
    assert start(omics, other_store, [fastq()], clientToken="batch-0001")["id"] != first["id"]
    assert start(omics, store, [fastq()])["id"] != first["id"]  # no token: a new job
    assert omics.import_jobs_started() == 3


def test_unimplemented_operation_fails_loudly(omics):
    with pytest.raises(NotImplementedError, match="ListSequenceStores"):
        omics.client.list_sequence_stores()


def test_exceptions_are_real_client_errors(omics):
    with pytest.raises(ClientError) as excinfo:
        omics.client.get_reference_store(id="1234567890")
    assert isinstance(excinfo.value, omics.client.exceptions.ResourceNotFoundException)
    assert excinfo.value.operation_name == "GetReferenceStore"


# ------------------------------------------------------------------ lifecycle and events
def test_lifecycle_completed_with_failures_and_events(omics, store):
    omics.fail_source("corrupt", "Invalid FASTQ record at line 4")
    job = start(omics, store, [fastq("good"), fastq("corrupt")])
    get = lambda: omics.client.get_read_set_import_job(id=job["id"], sequenceStoreId=store)  # noqa: E731
    assert get()["status"] == "SUBMITTED"
    assert {s["status"] for s in get()["sources"]} == {"NOT_STARTED"}
    omics.advance(5)
    assert get()["status"] == "IN_PROGRESS"
    assert {s["status"] for s in get()["sources"]} == {"IN_PROGRESS"}
    omics.advance(55)
    done = get()
    assert done["status"] == "COMPLETED_WITH_FAILURES"
    assert done["completionTime"] > done["creationTime"]
    good, bad = done["sources"]
    assert good["status"] == "FINISHED" and good["readSetId"] in omics.read_sets
    assert bad["status"] == "FAILED" and bad["statusMessage"] == "Invalid FASTQ record at line 4"
    assert "readSetId" not in bad
    meta = omics.client.get_read_set_metadata(id=good["readSetId"], sequenceStoreId=store)
    assert (meta["sampleId"], meta["status"], meta["fileType"]) == ("good", "ACTIVE", "FASTQ")
    assert omics.read_sets[good["readSetId"]]["sourceFiles"] == good["sourceFiles"]

    events = omics.take_events()
    job_events = [e for e in events if e["detail-type"] == "Read Set Import Job Status Change"]
    assert [e["detail"]["status"] for e in job_events] == [
        "SUBMITTED", "IN_PROGRESS", "COMPLETED_WITH_FAILURES"]
    last = job_events[-1]
    assert last["source"] == "aws.omics" and last["account"] == "123456789012"
    assert last["detail"]["id"] == job["id"] and last["detail"]["sequenceStoreId"] == store
    assert last["time"] == "2024-01-01T00:01:00Z"
    read_set_events = [e for e in events if e["detail-type"] == "Read Set Status Change"]
    assert [e["detail"]["id"] for e in read_set_events] == [good["readSetId"]]
    assert omics.take_events() == []


def test_all_sources_failing_fails_the_job(omics, store):
    omics.fail_source(lambda src: src["sampleId"].startswith("x"), "Access denied to source")
    job = start(omics, store, [fastq("x1"), fastq("x2")])
    omics.advance(60)
    got = omics.client.get_read_set_import_job(id=job["id"], sequenceStoreId=store)
    assert got["status"] == "FAILED" and omics.read_sets == {}


def test_fail_next_job_and_completed(omics, store):
    omics.fail_next_job("Service role cannot read the source")
    failed = start(omics, store, [fastq("a")])
    ok = start(omics, store, [fastq("b")])
    omics.advance(60)
    get = omics.client.get_read_set_import_job
    failed = get(id=failed["id"], sequenceStoreId=store)
    assert failed["status"] == "FAILED"
    assert failed["statusMessage"] == "Service role cannot read the source"
    assert get(id=ok["id"], sequenceStoreId=store)["status"] == "COMPLETED"


def test_cancel_job(omics, store):
    job = start(omics, store, [fastq()])
    omics.advance(10)
    omics.cancel_job(job["id"])
    get = lambda: omics.client.get_read_set_import_job(id=job["id"], sequenceStoreId=store)  # noqa: E731
    assert get()["status"] == "CANCELLING"
    omics.advance(100)
    assert get()["status"] == "CANCELLED"
    assert omics.read_sets == {}
    statuses = [e["detail"]["status"] for e in omics.events]
    assert statuses[-2:] == ["CANCELLING", "CANCELLED"]


def test_external_clock_drives_the_lifecycle():
    now = [1_000.0]
    omics = OmicsDouble(clock=lambda: now[0], job_duration_seconds=30)
    store = omics.create_sequence_store()
    job = start(omics, store, [fastq()])
    now[0] += 30
    got = omics.client.get_read_set_import_job(id=job["id"], sequenceStoreId=store)
    assert got["status"] == "COMPLETED"


def test_job_duration_grows_with_the_bytes_it_imports():
    gib = 1024**3
    omics = OmicsDouble(
        job_duration_seconds=60, throughput_bytes_per_second=100 * 1024**2, source_bytes=lambda uri: 10 * gib
    )
    store = omics.create_sequence_store()
    small = start(omics, store, [fastq("one")])
    big = start(omics, store, [fastq(f"s{i}") for i in range(10)])

    def status(job):
        return omics.client.get_read_set_import_job(id=job["id"], sequenceStoreId=store)["status"]

    omics.advance(60 + 10 * 1024 / 100 - 1)  # 10 GiB at 100 MiB/s: 102.4 s after the fixed part
    assert (status(small), status(big)) == ("IN_PROGRESS", "IN_PROGRESS")
    omics.advance(2)
    assert (status(small), status(big)) == ("COMPLETED", "IN_PROGRESS")
    omics.advance(9 * 102.4)
    assert status(big) == "COMPLETED"


def test_list_and_paginate(omics, store):
    for i in range(5):
        start(omics, store, [fastq(f"s{i}")])
    omics.advance(60)
    pages = omics.client.get_paginator("list_read_sets").paginate(
        sequenceStoreId=store, PaginationConfig={"PageSize": 2})
    assert [len(p["readSets"]) for p in pages] == [2, 2, 1]
    found = omics.client.list_read_sets(sequenceStoreId=store, filter={"sampleId": "s3"})
    assert [r["sampleId"] for r in found["readSets"]] == ["s3"]
    jobs = omics.client.list_read_set_import_jobs(
        sequenceStoreId=store, filter={"status": "COMPLETED"})["importJobs"]
    assert len(jobs) == 5
    with pytest.raises(ClientError, match="nextToken"):
        omics.client.list_read_sets(sequenceStoreId=store, nextToken="garbage")


def test_list_jobs_created_window(omics, store):
    from datetime import UTC, datetime, timedelta

    start(omics, store, [fastq("early")])
    omics.advance(3600)
    late = start(omics, store, [fastq("late")])
    after = datetime.fromtimestamp(omics.now(), tz=UTC) - timedelta(minutes=1)
    jobs = omics.client.list_read_set_import_jobs(
        sequenceStoreId=store, filter={"createdAfter": after})["importJobs"]
    assert [j["id"] for j in jobs] == [late["id"]]


def test_failure_messages_must_be_reportable(omics):
    with pytest.raises(ValueError, match="127"):
        omics.fail_source("x", "m" * 128)
    with pytest.raises(ValueError, match="regular expression"):
        omics.fail_next_job("line one\nline two")


def test_batch_delete_read_set(omics, store):
    start(omics, store, [fastq("a"), fastq("b")])
    omics.advance(60)
    ids = sorted(omics.read_sets)
    out = omics.client.batch_delete_read_set(sequenceStoreId=store, ids=[ids[0], "1111111111"])
    assert [e["id"] for e in out["errors"]] == ["1111111111"]
    assert list(omics.read_sets) == [ids[1]]


# ------------------------------------------------------------------ references
def test_reference_import_lifecycle_and_metadata(omics):
    ref_store = omics.create_reference_store()
    job = omics.client.start_reference_import_job(
        referenceStoreId=ref_store, roleArn=ROLE,
        sources=[{"sourceFile": "s3://my-bucket/GRCh38.fa", "name": "GRCh38"}])
    omics.advance(60)
    got = omics.client.get_reference_import_job(id=job["id"], referenceStoreId=ref_store)
    assert got["status"] == "COMPLETED"
    ref_id = got["sources"][0]["referenceId"]
    meta = omics.client.get_reference_metadata(id=ref_id, referenceStoreId=ref_store)
    assert meta["arn"] == (
        f"arn:aws:omics:us-east-1:123456789012:referenceStore/{ref_store}/reference/{ref_id}")
    listed = omics.client.list_references(referenceStoreId=ref_store, filter={"name": "GRCh38"})
    assert [r["id"] for r in listed["references"]] == [ref_id]
    types = [e["detail-type"] for e in omics.events]
    assert types.count("Reference Import Job Status Change") == 3
    omics.client.delete_reference(id=ref_id, referenceStoreId=ref_store)
    with pytest.raises(omics.client.exceptions.ResourceNotFoundException):
        omics.client.get_reference_metadata(id=ref_id, referenceStoreId=ref_store)


def test_reference_name_length(omics):
    ref_store = omics.create_reference_store()
    start_ref = omics.client.start_reference_import_job
    with pytest.raises(ParamValidationError):  # botocore checks minimum lengths itself
        start_ref(referenceStoreId=ref_store, roleArn=ROLE,
                  sources=[{"sourceFile": "s3://my-bucket/r.fa", "name": "ab"}])
    with pytest.raises(ClientError, match="less than or equal to 255"):
        start_ref(referenceStoreId=ref_store, roleArn=ROLE,
                  sources=[{"sourceFile": "s3://my-bucket/r.fa", "name": "r" * 256}])
    assert omics.import_jobs_started() == 0


def test_one_reference_import_at_a_time_per_store(omics):
    ref_store, other = omics.create_reference_store(), omics.create_reference_store("b")
    src = [{"sourceFile": "s3://my-bucket/r.fa", "name": "ref-1"}]
    start_ref = omics.client.start_reference_import_job
    start_ref(referenceStoreId=ref_store, roleArn=ROLE, sources=src)
    with pytest.raises(omics.client.exceptions.ServiceQuotaExceededException) as excinfo:
        start_ref(referenceStoreId=ref_store, roleArn=ROLE, sources=src)
    assert error_of(excinfo)[1] == 402 and "one reference import" in error_of(excinfo)[2]
    start_ref(referenceStoreId=other, roleArn=ROLE, sources=src)  # another store is fine
    omics.advance(60)
    start_ref(referenceStoreId=ref_store, roleArn=ROLE, sources=src)  # done: next one ok
    assert omics.import_jobs_started("reference") == 3


def test_reference_in_use_cannot_be_deleted(omics, store):
    ref = import_reference(omics)
    start(omics, store, [fastq(sourceFileType="BAM", referenceArn=ref,
                               sourceFiles={"source1": "s3://my-bucket/a.bam"})])
    omics.advance(60)
    ref_id = ref.rsplit("/", 1)[1]
    ref_store = omics.references[ref_id]["referenceStoreId"]
    with pytest.raises(omics.client.exceptions.ConflictException):
        omics.client.delete_reference(id=ref_id, referenceStoreId=ref_store)


# ------------------------------------------------------------------ quotas, throttling, loss
def test_concurrent_job_quota():
    omics = OmicsDouble(max_concurrent_import_jobs=2)
    store = omics.create_sequence_store()
    start(omics, store, [fastq("a")])
    start(omics, store, [fastq("b")])
    with pytest.raises(omics.client.exceptions.ServiceQuotaExceededException) as excinfo:
        start(omics, store, [fastq("c")])
    assert error_of(excinfo)[:2] == ("ServiceQuotaExceededException", 402)
    assert omics.import_jobs_started() == 2 and omics.peak_concurrent_jobs == 2
    omics.advance(60)
    start(omics, store, [fastq("c")])
    assert omics.import_jobs_started() == 3


def test_throttle_fraction_is_respected_and_deterministic():
    def run(seed):
        omics = OmicsDouble(throttle_fraction=0.3, seed=seed)
        outcomes = []
        for _ in range(1000):
            try:
                omics.client.get_sequence_store(id="1234567890")
            except omics.client.exceptions.ThrottlingException as err:
                assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 429
                outcomes.append("T")
            except omics.client.exceptions.ResourceNotFoundException:
                outcomes.append("-")
        assert omics.api_calls("GetSequenceStore") == 1000
        return outcomes

    first = run(7)
    assert 0.25 < first.count("T") / 1000 < 0.35
    assert run(7) == first and run(8) != first


def test_throttled_start_changes_no_state():
    omics = OmicsDouble(throttle_fraction=1.0)
    store = omics.create_sequence_store()
    with pytest.raises(ClientError, match="Throttling"):
        start(omics, store, [fastq()], clientToken="tok")
    assert omics.import_jobs_started() == 0 and omics.events == []
    assert omics.calls == [("StartReadSetImportJob", {
        "sequenceStoreId": store, "roleArn": ROLE, "sources": [fastq()], "clientToken": "tok"})]


@pytest.mark.parametrize(("fraction", "low", "high"), [(0.0, 1.0, 1.0), (1.0, 0.0, 0.0),
                                                       (0.5, 0.4, 0.6)])
def test_dropped_events(fraction, low, high):
    omics = OmicsDouble(drop_event_fraction=fraction, seed=3)
    store = omics.create_sequence_store()
    for i in range(40):
        start(omics, store, [fastq(f"s{i}")])
    omics.advance(60)
    delivered, dropped = len(omics.events), len(omics.dropped_events)
    assert delivered + dropped == 40 * 4  # SUBMITTED, IN_PROGRESS, COMPLETED, read set ACTIVE
    assert low <= delivered / (delivered + dropped) <= high


def test_benchmark_counters():
    omics = OmicsDouble()
    store = omics.create_sequence_store()
    for _ in range(3):
        start(omics, store, [fastq()])
    omics.advance(0.5)
    omics.client.list_read_set_import_jobs(sequenceStoreId=store)
    omics.advance(2)
    omics.client.list_read_set_import_jobs(sequenceStoreId=store)
    assert omics.peak_tps == 4
    assert omics.api_calls() == 5 and omics.api_calls("StartReadSetImportJob") == 3
    assert omics.peak_concurrent_jobs == 3


def test_patch_boto3_serves_clients_made_by_code_under_test(omics, store):
    with omics.patch_boto3():
        client = boto3.client("omics", region_name="us-east-1",
                              aws_access_key_id="x", aws_secret_access_key="x")
        job = client.start_read_set_import_job(
            sequenceStoreId=store, roleArn=ROLE, sources=[fastq()])
    assert omics.jobs[job["id"]]["status"] == "SUBMITTED"


def test_thread_safe_starts(omics, store):
    def worker(n):
        for i in range(20):
            start(omics, store, [fastq(f"t{n}-{i}")])

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert omics.import_jobs_started() == 80 and len(set(omics.jobs)) == 80


def test_tps_limit_throttles_per_operation_in_simulated_time():
    omics = OmicsDouble(tps_limit=5)
    store = omics.create_sequence_store()
    outcomes = []
    for _ in range(8):
        try:
            omics.client.get_sequence_store(id=store)
            outcomes.append("ok")
        except omics.client.exceptions.ThrottlingException:
            outcomes.append("T")
    assert outcomes == ["ok"] * 5 + ["T"] * 3
    omics.client.list_read_sets(sequenceStoreId=store)  # another API has its own quota
    omics.advance(1)
    omics.client.get_sequence_store(id=store)


def test_double_checks_required_members_when_botocore_does_not():
    omics = OmicsDouble()
    store = omics.create_sequence_store()
    loose = boto3.session.Session(
        aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1",
    ).client("omics", config=Config(parameter_validation=False))
    omics.attach(loose)
    src = fastq()
    del src["sampleId"]
    with pytest.raises(ClientError, match="sampleId' is required"):
        loose.start_read_set_import_job(sequenceStoreId=store, roleArn=ROLE, sources=[src])
    with pytest.raises(ClientError, match="greater than or equal to 20"):
        loose.start_read_set_import_job(sequenceStoreId=store, roleArn="arn:x", sources=[fastq()])


def test_invalid_response_is_a_bug_in_the_double(omics, store, monkeypatch):
    monkeypatch.setattr(omics, "_op_GetSequenceStore", lambda params, shape: {"id": "12"})
    with pytest.raises(AssertionError, match="invalid GetSequenceStore response"):
        omics.client.get_sequence_store(id=store)


def test_clock_only_moves_forward(omics):
    with pytest.raises(ValueError):
        omics.advance(-1)


TEXT_CATEGORIES = ("L", "M", "Z", "S", "N", "P")  # what [\\p{L}||\\p{M}||...]+ allows
SAMPLE_ID = boto3.session.Session(region_name="us-east-1").client(
    "omics", aws_access_key_id="x", aws_secret_access_key="x",
).meta.service_model.shape_for("SampleId")


# Basic Multilingual Plane, assigned code points only: Python's and the regex module's
# Unicode versions differ on code points assigned since (U+1ACF is unassigned in Python
# 3.11's Unicode 14 and a mark in the regex module's), as Java's may.
@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=["Cs", "Cn"]),
               min_size=1, max_size=20))
def test_java_text_pattern_matches_unicode_categories(text):
    allowed = all(unicodedata.category(c)[0] in TEXT_CATEGORIES for c in text)
    assert (shape_errors(SAMPLE_ID, text) == []) == allowed
