"""Every hard-coded HealthOmics limit equals what botocore's omics model says."""

import re

import botocore.session
import pytest
from omics_autoload_runtime.domain import limits

MODEL = botocore.session.get_session().get_service_model("omics")


def _input(operation: str):
    return MODEL.operation_model(operation).input_shape


def _source_item():
    return _input("StartReadSetImportJob").members["sources"].member


def _length(shape) -> tuple[int, int]:
    return shape.metadata["min"], shape.metadata["max"]


def test_file_types_are_the_model_enum():
    assert tuple(_source_item().members["sourceFileType"].enum) == limits.FILE_TYPES
    assert set(limits.ALIGNED_FILE_TYPES) < set(limits.FILE_TYPES)


def test_sources_per_job():
    assert _length(_input("StartReadSetImportJob").members["sources"]) == limits.SOURCES_PER_IMPORT_JOB


def test_every_length_limited_source_field_is_pinned():
    members = _source_item().members
    limited = {name for name, shape in members.items() if "max" in shape.metadata and shape.type_name == "string"}
    assert limited == set(limits.SOURCE_FIELD_LENGTHS)
    for name, expected in limits.SOURCE_FIELD_LENGTHS.items():
        assert _length(members[name]) == expected, name


def test_text_fields_use_the_text_pattern():
    members = _source_item().members
    with_text_pattern = {
        name for name, shape in members.items() if shape.metadata.get("pattern") == limits.TEXT_PATTERN
    }
    assert with_text_pattern == set(limits.SOURCE_TEXT_FIELDS)


def test_text_categories_match_the_java_pattern():
    categories = set(re.findall(r"\\p\{(\w)\}", limits.TEXT_PATTERN))
    assert categories == limits.TEXT_UNICODE_CATEGORIES


def test_reference_arn_pattern():
    assert _source_item().members["referenceArn"].metadata["pattern"] == limits.REFERENCE_ARN_PATTERN
    assert limits.REFERENCE_ARN_RE.pattern == "arn:" + _not_line_break() + "+"


def _not_line_break() -> str:
    return r"[^\n\r\u0085\u2028\u2029]"


@pytest.mark.parametrize("member", ["source1", "source2"])
def test_s3_uri_pattern_and_its_python_translation(member):
    pattern = _source_item().members["sourceFiles"].members[member].metadata["pattern"]
    assert pattern == limits.S3_URI_PATTERN
    translated = pattern.replace("(.{1,1024})", f"({_not_line_break()}{{1,1024}})")
    assert limits.S3_URI_RE.pattern == translated


def test_other_lengths():
    request = _input("StartReadSetImportJob").members
    assert _length(request["clientToken"]) == limits.CLIENT_TOKEN_LENGTH
    assert _length(request["sequenceStoreId"]) == limits.SEQUENCE_STORE_ID_LENGTH
    reference_source = _input("StartReferenceImportJob").members["sources"].member
    assert _length(reference_source.members["name"]) == limits.REFERENCE_NAME_LENGTH
    tags = _source_item().members["tags"]
    assert _length(tags.key) == limits.TAG_KEY_LENGTH
    assert _length(tags.value) == limits.TAG_VALUE_LENGTH
    job_source = MODEL.operation_model("GetReadSetImportJob").output_shape.members["sources"].member
    assert _length(job_source.members["statusMessage"]) == limits.STATUS_MESSAGE_LENGTH


def test_statuses():
    assert tuple(MODEL.shape_for("ReadSetImportJobStatus").enum) == limits.IMPORT_JOB_STATUSES
    assert tuple(MODEL.shape_for("ReadSetImportJobItemStatus").enum) == limits.IMPORT_SOURCE_STATUSES
    assert set(limits.IMPORT_JOB_TERMINAL_STATUSES) < set(limits.IMPORT_JOB_STATUSES)
    assert not {"SUBMITTED", "IN_PROGRESS", "CANCELLING"} & set(limits.IMPORT_JOB_TERMINAL_STATUSES)
