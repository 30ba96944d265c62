"""assemble: the files of one group become one read set, mates in order, or a Skip per file."""

import pytest
from omics_autoload_runtime.domain.classify import FileRole, classify
from omics_autoload_runtime.domain.pairing import assemble
from omics_autoload_runtime.domain.read_sets import ReadSet

from .listings import RUN1


def role(name):
    result = classify(RUN1 + name)
    assert isinstance(result, FileRole)
    return result


def test_assemble_orders_mates_and_applies_overrides():
    read_set = assemble(
        [role("A_R2.fq"), role("A_R1.fq")],
        overrides={"sample_id": "S9", "description": "", "name": None},
    )
    assert isinstance(read_set, ReadSet)
    assert (read_set.source1, read_set.source2) == (RUN1 + "A_R1.fq", RUN1 + "A_R2.fq")
    assert (read_set.sample_id, read_set.subject_id, read_set.name, read_set.description) == (
        "S9",
        "S9",
        "A",
        None,
    )


def test_assemble_rejects_unknown_override_keys_and_empty_input():
    with pytest.raises(ValueError, match="unknown override keys"):
        assemble([role("A.fq")], overrides={"sampleId": "x"})
    with pytest.raises(ValueError):
        assemble([])


def test_assemble_three_files_is_a_conflict():
    skips = assemble([role("A_R1.fq"), role("A_R2.fq"), role("A_R1.fastq")])
    assert len(skips) == 3
    assert all(skip.reason.startswith("conflict: 3 files") for skip in skips)
