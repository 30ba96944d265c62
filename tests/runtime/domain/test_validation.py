"""HealthOmics limits on read sets: every broken one reported with its field, never truncated."""

from omics_autoload_runtime.domain.classify import classify
from omics_autoload_runtime.domain.pairing import assemble
from omics_autoload_runtime.domain.planning import plan
from omics_autoload_runtime.domain.read_sets import ReadSet
from omics_autoload_runtime.domain.sample_sheet import SampleSheet
from omics_autoload_runtime.domain.validation import validate

from .listings import RUN1, reasons, uris


def test_over_long_sample_id_names_file_field_and_limit():
    sample = "S" * 130
    result = plan(uris(f"{sample}_R1.fastq.gz", f"{sample}_R2.fastq.gz"))
    assert not result.read_sets
    reason = reasons(result)[f"{sample}_R1.fastq.gz"]
    assert reason.startswith(f"{sample}_R1.fastq.gz: ")
    assert "sampleId" in reason and "130 characters long" in reason and "1 to 127" in reason
    assert "name" in reason  # the read-set name is as long


def test_over_long_description_from_sheet_is_rejected_not_truncated():
    sheet = SampleSheet.parse(
        f"source1,source2,subject_id,sample_id,description\n{RUN1}x.fastq.gz,,P1,S1,{'d' * 256}\n"
    )
    reason = reasons(plan(uris("x.fastq.gz"), sample_sheet=sheet))["x.fastq.gz"]
    assert "description" in reason and "256 characters long" in reason and "1 to 255" in reason


def test_control_character_from_tags_is_rejected():
    tags = {RUN1 + "x.fastq.gz": {"SampleId": "bad\u0007id"}}
    reason = reasons(plan(uris("x.fastq.gz"), tags=tags))["x.fastq.gz"]
    assert "sampleId" in reason and "U+0007" in reason


def test_lengths_count_like_the_java_service():
    # An astral character is two UTF-16 units: 64 of them exceed 127 although len() is 64.
    role = classify(RUN1 + "x.fastq.gz")
    skips = assemble([role], overrides={"sample_id": "\U0001f9ec" * 64})
    assert "128 characters long" in skips[0].reason


def test_validate_reports_every_problem():
    read_set = ReadSet(
        file_type="SAM",
        source1="s3://b/x",
        source2="s3://b/x",
        subject_id="",
        sample_id="s",
        name="n",
        group_key="k",
    )
    problems = validate(read_set)
    text = " | ".join(problems)
    assert "sourceFileType 'SAM'" in text
    assert "bucket name 'b'" in text
    assert "only FASTQ read sets have two files" in text
    assert "subjectId" in text
