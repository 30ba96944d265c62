"""intake keeps what a BAM's/CRAM's header says of its reference; import_start picks by it."""

from __future__ import annotations

import os

import pytest
from omics_autoload_runtime import settings
from omics_autoload_runtime.adapters import tracking
from omics_autoload_runtime.contract import Env
from omics_autoload_runtime.domain import references
from omics_autoload_runtime.domain.options import AssemblyOptions
from omics_autoload_runtime.domain.references import Reference, ReferenceSet
from support.pipeline import REFERENCE_PARAMETER, Pipeline, _starter_inputs

from tests.runtime.domain.hts_bytes import bam_header, bgzf, cram

MISSING_PARAMETER = "/omics-autoload/grch37/not-there"


def _sam(contigs: dict[str, int]) -> bytes:
    return b"@HD\tVN:1.6\n" + b"".join(b"@SQ\tSN:%s\tLN:%d\n" % (n.encode(), ln) for n, ln in contigs.items())


@pytest.fixture
def pipe():
    # sample_from_header off: the header is read for the reference choice all the same
    with Pipeline(options=AssemblyOptions(sample_from_header=False)) as pipeline:
        os.environ[Env.REFERENCES] = ReferenceSet(
            (
                Reference("GRCh38", parameter_name=REFERENCE_PARAMETER, contigs=references.GRCH38),
                Reference("GRCh37", parameter_name=MISSING_PARAMETER, contigs=references.GRCH37),
            )
        ).to_json()
        settings.reset()
        yield pipeline


def test_header_facts_ride_on_the_read_set_and_a_missing_reference_parameter_skips_its_files(pipe):
    stored = [
        pipe.put("core/P38.cram", cram(_sam(references.GRCH38))),
        pipe.put("core/P37.bam", bgzf(bam_header(_sam(references.GRCH37), []))),
    ]
    pipe.deliver(stored)
    read_sets = {tracking.readset_sources(rs)[0].rsplit("/", 1)[1]: rs for rs in pipe.items(tracking.KIND_READSET)}
    header = read_sets["P38.cram"]["file1"]["header"]
    assert header["sq"][0] == ["chr1", 248956422] and header["sqCount"] == 25 and header["hd"] == {"VN": "1.6"}

    (batch,) = _starter_inputs(pipe)
    out = pipe.invoke("import_start", batch)
    assert out["jobId"]
    objects = pipe.objects()
    assert objects["core/P38.cram"]["status"] == tracking.QUEUED  # its read set is IMPORTING
    assert objects["core/P37.bam"]["status"] == tracking.SKIPPED
    assert f"reference GRCh37: SSM parameter {MISSING_PARAMETER} does not exist" in objects["core/P37.bam"]["reason"]
    (request,) = [p for op, p in pipe.double.calls if op == "StartReadSetImportJob"]
    assert [s.get("referenceArn") for s in request["sources"]] == [pipe.reference_arn]
