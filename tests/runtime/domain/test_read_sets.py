"""ReadSet as HealthOmics receives it: import sources valid against the botocore model, plan JSON."""

import re
import unicodedata

import botocore.session
from botocore.validate import validate_parameters
from omics_autoload_runtime.domain import limits
from omics_autoload_runtime.domain.planning import batches, plan
from omics_autoload_runtime.domain.read_sets import ReadSet
from omics_autoload_runtime.domain.sample_sheet import SampleSheet

from .listings import REF, RUN1, RUN2, uris


def _check_patterns_and_enums(value, shape, path="request"):
    """botocore checks types, required keys and lengths, not enums or patterns."""
    if shape.type_name == "structure":
        for key, item in value.items():
            _check_patterns_and_enums(item, shape.members[key], f"{path}.{key}")
    elif shape.type_name == "list":
        for index, item in enumerate(value):
            _check_patterns_and_enums(item, shape.member, f"{path}[{index}]")
    elif shape.type_name == "string":
        if shape.enum:
            assert value in shape.enum, path
        pattern = shape.metadata.get("pattern")
        if pattern == limits.S3_URI_PATTERN:
            assert limits.S3_URI_RE.fullmatch(value), path
        elif pattern == limits.TEXT_PATTERN:
            categories = {unicodedata.category(char)[0] for char in value}
            assert categories <= limits.TEXT_UNICODE_CATEGORIES, path
        elif pattern:
            assert re.fullmatch(pattern, value), (path, pattern)


def test_import_requests_from_a_plan_validate_against_the_model():
    model = botocore.session.get_session().get_service_model("omics")
    shape = model.operation_model("StartReadSetImportJob").input_shape
    sheet = SampleSheet.parse(
        "source1,source2,subject_id,sample_id,description,generated_from\n"
        f"{RUN2}s.fq.gz,,P ü,S 1,a described sample,sequencer 9\n"
    )
    listing = [
        *uris(*(f"S{n}_S{n}_L001_R{m}_001.fastq.gz" for n in range(1, 131) for m in (1, 2))),
        *uris("a.bam", "b.cram", "c.unmapped.bam", "single.fq"),
        RUN2 + "s.fq.gz",
    ]
    result = plan(listing, reference_arn=REF, sample_sheet=sheet)
    assert not result.skipped
    jobs = batches(result.read_sets, 100)
    assert [len(job) for job in jobs] == [100, 35]
    for job in jobs:
        request = {
            "sequenceStoreId": "1234567890",
            "roleArn": "arn:aws:iam::123456789012:role/omics-import",
            "clientToken": job[0].group_key[-100:],
            "sources": [read_set.to_import_source() for read_set in job],
        }
        validate_parameters(request, shape)
        _check_patterns_and_enums(request, shape)


def test_import_source_shape_is_exact():
    read_set = ReadSet("FASTQ", RUN1 + "a_1.fq", None, "s", "s", "a", "k", generated_from="g")
    assert read_set.to_import_source() == {
        "sourceFiles": {"source1": RUN1 + "a_1.fq"},
        "sourceFileType": "FASTQ",
        "subjectId": "s",
        "sampleId": "s",
        "name": "a",
        "generatedFrom": "g",
    }


def test_reference_never_reaches_an_unaligned_import_source():
    read_set = ReadSet("FASTQ", RUN1 + "a.fq", None, "s", "s", "a", "k", reference_arn=REF)
    assert "referenceArn" not in read_set.to_import_source()
    ubam = ReadSet("UBAM", RUN1 + "a.ubam", None, "s", "s", "a", "k", reference_arn=REF)
    assert "referenceArn" not in ubam.to_import_source()


def test_plan_json_shape():
    result = plan(uris("A_R1.fq", "A_R2.fq", "b.bam", "x.txt"), reference_arn=REF)
    data = result.to_json()
    assert set(data) == {"readSets", "skipped", "totalBytes", "lateSheets", "waitingForSheet"}
    assert data["skipped"] == [{"uri": RUN1 + "x.txt", "code": "NotSequence", "reason": "not a sequence file (.txt)"}]
    first = data["readSets"][0]
    assert list(first)[:6] == [
        "sourceFileType",
        "source1",
        "source2",
        "subjectId",
        "sampleId",
        "name",
    ]
