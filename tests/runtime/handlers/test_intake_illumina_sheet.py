"""The instrument's SampleSheet.csv in a run folder and a BAM/CRAM's header set the ids of files."""

from __future__ import annotations

import pytest
from omics_autoload_runtime.adapters import tracking
from omics_autoload_runtime.domain.illumina_sheet import SheetColumns
from support.pipeline import EmfLog, Pipeline

from tests.runtime.domain.hts_bytes import SAM, bam_header, bgzf, cram
from tests.runtime.domain.illumina_sheets import V1_NOVASEQ, V2_BCLCONVERT

LIMS = SheetColumns.merged({"subject_id": ["Sample_Name", "Patient_ID"]}).to_json()


@pytest.fixture
def pipe():
    with Pipeline(env={"ILLUMINA_SHEET_COLUMNS": LIMS}) as pipeline:
        EmfLog().install()
        yield pipeline


def _overrides(pipe, key):
    objects = pipe.objects()
    (read_set,) = [i for i in pipe.items(tracking.KIND_READSET) if i["pk"] == objects[key]["readSetKey"]]
    return read_set["file1"].get("overrides", {})


def test_bcl_convert_sheet_in_reports_sets_ids_of_fastqs_in_fastq_folder(pipe):
    pipe.upload(["NVX42/Reports/SampleSheet.csv"], body=V2_BCLCONVERT.encode())
    fastqs = [f"NVX42/Fastq/S24-0042-T_S1_L002_R{mate}_001.fastq.gz" for mate in (1, 2)]
    pipe.upload(fastqs)
    assert pipe.objects()["NVX42/Reports/SampleSheet.csv"]["status"] == tracking.SKIPPED
    assert _overrides(pipe, fastqs[0]) == {
        "sample_id": "S24-0042-T",
        "subject_id": "MRN-7731",
        "description": "Tumour-Normal-2026",
        "generated_from": "NVX_20261130_LIMS42",
    }


def test_bcl2fastq_sheet_matches_sample_name_in_file_names_and_tags_still_win(pipe):
    pipe.put("RUN_A/SampleSheet.csv", body=V1_NOVASEQ.encode())
    pipe.upload(["RUN_A/ONCO-17/PAT-1002_S2_L001_R1_001.fastq.gz"])
    assert _overrides(pipe, "RUN_A/ONCO-17/PAT-1002_S2_L001_R1_001.fastq.gz") == {}  # not the run folder

    pipe.upload(["RUN_A/PAT-1001_S1_L001_R1_001.fastq.gz"])
    stored = pipe.put("RUN_A/PAT-1002_S2_L001_R1_001.fastq.gz", tags={"subject_id": "TAGGED"})
    pipe.deliver([stored])
    assert _overrides(pipe, "RUN_A/PAT-1001_S1_L001_R1_001.fastq.gz")["sample_id"] == "LIB-0001"
    tagged = _overrides(pipe, "RUN_A/PAT-1002_S2_L001_R1_001.fastq.gz")
    assert tagged["subject_id"] == "TAGGED" and tagged["sample_id"] == "LIB-0002"


def test_a_malformed_sheet_fails_the_run_files_naming_the_line(pipe):
    broken = V2_BCLCONVERT.replace("2,S24-0042-N,", "two,S24-0042-N,")
    pipe.upload(["bad/SampleSheet.csv"], body=broken.encode())
    pipe.upload(["bad/Fastq/S24-0042-N_S2_L001_R1_001.fastq.gz"])
    objects = pipe.objects()
    assert objects["bad/SampleSheet.csv"]["status"] == tracking.FAILED
    item = objects["bad/Fastq/S24-0042-N_S2_L001_R1_001.fastq.gz"]
    assert item["status"] == tracking.FAILED
    assert "line 26: Lane 'two'" in item["reason"] and "redrive" in item["reason"]


def test_files_before_the_sheet_keep_name_ids_and_unlisted_samples_fall_back_to_names(pipe):
    pipe.upload(["early/S24-0042-T_S1_L001_R1_001.fastq.gz"])
    pipe.upload(["early/SampleSheet.csv"], body=V2_BCLCONVERT.encode())
    pipe.upload(["early/S24-0042-N_S2_L001_R1_001.fastq.gz", "early/OTHER_S3_L001_R1_001.fastq.gz"])
    assert _overrides(pipe, "early/S24-0042-T_S1_L001_R1_001.fastq.gz") == {}
    assert _overrides(pipe, "early/S24-0042-N_S2_L001_R1_001.fastq.gz")["subject_id"] == "MRN-7731"
    assert _overrides(pipe, "early/OTHER_S3_L001_R1_001.fastq.gz") == {}


def test_bam_and_cram_take_the_sample_of_their_read_groups_below_the_illumina_sheet(pipe):
    pipe.upload(["cram/HG002.GRCh38.dedup.cram"], body=cram(SAM, gzip_block=True))
    pipe.upload(["bam/HG002.sorted.bam"], body=bgzf(bam_header(SAM, [(b"chr1", 248956422)])))
    pipe.upload(["NVX42/SampleSheet.csv"], body=V2_BCLCONVERT.encode())
    pipe.upload(["NVX42/S24-0042-T.bam"], body=bgzf(bam_header(SAM, [(b"chr1", 248956422)])))
    assert _overrides(pipe, "cram/HG002.GRCh38.dedup.cram") == {"sample_id": "PAT-1001", "subject_id": "PAT-1001"}
    assert _overrides(pipe, "bam/HG002.sorted.bam")["sample_id"] == "PAT-1001"
    assert _overrides(pipe, "NVX42/S24-0042-T.bam")["subject_id"] == "MRN-7731"
