"""End to end with two references: a core's GRCh37 and GRCh38 BAM/CRAM files in one burst.

Each aligned file is imported against the reference its header's @SQ lines name (or a key
rule), the HealthOmics double records the referenceArn of every source, and a file
aligned to a reference that is not configured ends FAILED with a reason, never imported
against another.
"""

from __future__ import annotations

import os

from omics_autoload_runtime import settings
from omics_autoload_runtime.adapters import tracking
from omics_autoload_runtime.contract import Env
from omics_autoload_runtime.domain import references
from omics_autoload_runtime.domain.references import Reference, ReferenceSet, Rule
from support.pipeline import REFERENCE_PARAMETER, ROLE_ARN, Pipeline

from tests.runtime.domain.hts_bytes import bam_header, bgzf, cram

GRCH37_PARAMETER = "/omics-autoload/grch37/reference-arn"


def sam(contigs: dict[str, int], sample: str) -> bytes:
    lines = b"@HD\tVN:1.6\tSO:coordinate\n"
    for name, length in contigs.items():
        lines += b"@SQ\tSN:%s\tLN:%d\n" % (name.encode(), length)
    return lines + b"@RG\tID:1\tSM:%s\n" % sample.encode()


def add_reference(pipe: Pipeline, name: str) -> str:
    """A second reference in the double, its ARN in an SSM parameter (as ReferenceGenome does)."""
    double = pipe.double
    store = double.create_reference_store(name)
    throttle, double.throttle_fraction = double.throttle_fraction, 0.0
    job = double.client.start_reference_import_job(
        referenceStoreId=store, roleArn=ROLE_ARN, sources=[{"sourceFile": f"s3://refs/{name}.fa", "name": name}]
    )
    double.advance(double.job_duration_seconds + 10)
    ref_id = double.client.get_reference_import_job(id=job["id"], referenceStoreId=store)["sources"][0]["referenceId"]
    double.take_events()
    double.calls.clear()
    double.throttle_fraction = throttle
    arn = double.references[ref_id]["arn"]
    pipe.ssm.put_parameter(Name=GRCH37_PARAMETER, Type="String", Value=arn)
    return arn


def configure(pipe: Pipeline, reference_set: ReferenceSet) -> None:
    """What the construct writes for ``references=`` (the variable the template carries)."""
    os.environ[Env.REFERENCES] = reference_set.to_json()
    settings.reset()


def test_grch37_and_grch38_files_in_one_burst_each_against_its_own_reference():
    with Pipeline(state_machine=True) as pipe:
        grch37_arn = add_reference(pipe, "GRCh37")
        configure(
            pipe,
            ReferenceSet(
                (
                    Reference("GRCh38", parameter_name=REFERENCE_PARAMETER, contigs=references.GRCH38),
                    Reference("GRCh37", parameter_name=GRCH37_PARAMETER, contigs=references.GRCH37),
                ),
                rules=(Rule("legacy/*", "GRCh37"),),
            ),
        )
        files = {
            "core/PAT-38.bam": bgzf(bam_header(sam(references.GRCH38, "PAT-38"), [])),
            "core/PAT-37.cram": cram(sam(references.GRCH37, "PAT-37")),
            "core/PAT-HG19.bam": bgzf(bam_header(sam(references.HG19, "PAT-HG19"), [])),
            # no header the pipeline can read: the key rule decides
            "legacy/PAT-OLD.cram": b"CRAM\x03\x00 cut short",
            "core/PAT-FQ.fastq.gz": b"@r1\nACGT\n+\nIIII\n",
        }
        stored = [pipe.put(key, body) for key, body in files.items()]
        pipe.deliver(stored)
        pipe.run()
        objects = pipe.objects()
        status = {key: objects[key]["status"] for key in files}
        assert status == {
            "core/PAT-38.bam": tracking.IMPORTED,
            "core/PAT-37.cram": tracking.IMPORTED,
            "core/PAT-HG19.bam": tracking.FAILED,
            "legacy/PAT-OLD.cram": tracking.IMPORTED,
            "core/PAT-FQ.fastq.gz": tracking.IMPORTED,
        }, {k: objects[k].get("reason") for k in files}
        assert pipe.all_terminal() and not pipe.handler_failures
        by_name = {rs["name"]: rs for rs in pipe.double.read_sets.values()}
        assert by_name["PAT-38"]["referenceArn"] == pipe.reference_arn
        assert by_name["PAT-37"]["referenceArn"] == grch37_arn
        assert by_name["PAT-OLD"]["referenceArn"] == grch37_arn
        assert by_name["PAT-38"]["sampleId"] == "PAT-38"  # @RG SM: still names the sample
        assert by_name["PAT-FQ"].get("referenceArn") is None  # FASTQ takes no reference
        reason = objects["core/PAT-HG19.bam"]["reason"]
        assert "chr1:249250621" in reason and "GRCh38: chr1 is 249,250,621 bases there" in reason
        assert "GRCh37: none of its @SQ names" in reason
        # One burst, one job: each source carries its own referenceArn.
        starts = [params for op, params in pipe.double.calls if op == "StartReadSetImportJob"]
        assert len(starts) == 1
        arns = {s["sourceFiles"]["source1"].rsplit("/", 1)[1]: s.get("referenceArn") for s in starts[0]["sources"]}
        assert arns["PAT-38.bam"] == pipe.reference_arn and arns["PAT-37.cram"] == grch37_arn
        read_sets = {tracking.readset_sources(rs)[0].rsplit("/", 1)[1]: rs for rs in pipe.items(tracking.KIND_READSET)}
        assert read_sets["PAT-37.cram"]["reference"] == "GRCh37 (its header's @SQ lines)"
        assert read_sets["PAT-OLD.cram"]["reference"] == "GRCh37 (key rule 'legacy/*')"
