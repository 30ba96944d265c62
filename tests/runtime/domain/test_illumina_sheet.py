import pytest
from omics_autoload_runtime.domain.illumina_sheet import IlluminaSheet, SheetColumns, lane_of, sheet_keys
from omics_autoload_runtime.domain.sample_sheet import SampleSheetError

from tests.runtime.domain.illumina_sheets import V1_NOVASEQ, V2_BCLCONVERT

DEFAULT = SheetColumns()


def test_v1_sheet_gives_subject_from_sample_name_and_project_and_experiment():
    sheet = IlluminaSheet.parse(V1_NOVASEQ)
    assert sheet.version == 1 and sheet.has_lanes
    assert sheet.overrides_for("LIB-0001", 2, DEFAULT) == {
        "sample_id": "LIB-0001",
        "subject_id": "PAT-1001",
        "description": "ONCO-17",
        "generated_from": "RUN_2026_11_30_A",
    }


def test_v1_matches_the_sample_name_bcl2fastq_writes_into_file_names():
    sheet = IlluminaSheet.parse(V1_NOVASEQ)
    assert sheet.overrides_for("PAT-1002", 1, DEFAULT)["sample_id"] == "LIB-0002"


def test_v2_sheet_joins_cloud_and_application_sections_by_sample_id():
    sheet = IlluminaSheet.parse(V2_BCLCONVERT)
    assert sheet.version == 2
    assert sheet.overrides_for("S24-0042-T", 1, DEFAULT) == {
        "sample_id": "S24-0042-T",
        "subject_id": "S24-0042-T",  # no Sample_Name: the sample id
        "description": "Tumour-Normal-2026",
        "generated_from": "NVX_20261130_LIMS42",
    }
    lims = SheetColumns.merged({"subject_id": ["Sample_Name", "Patient_ID"]})
    assert sheet.overrides_for("S24-0042-N", 2, lims)["subject_id"] == "MRN-7731"


def test_lane_and_unknown_samples():
    sheet = IlluminaSheet.parse(V2_BCLCONVERT)
    assert sheet.overrides_for("S24-0042-T", 3, DEFAULT) is None  # not on lane 3
    assert sheet.overrides_for("S24-0042-T", None, DEFAULT) is not None  # --no-lane-splitting
    assert sheet.overrides_for("OTHER", 1, DEFAULT) is None
    assert IlluminaSheet.parse(V1_NOVASEQ).overrides_for("LIB-0001", 1, DEFAULT) is not None


def test_rows_of_one_sample_that_disagree_fail_naming_their_lines():
    text = V1_NOVASEQ.replace("2,LIB-0001,PAT-1001", "2,LIB-0001,PAT-9999")
    with pytest.raises(SampleSheetError, match=r"lines 23, 24 .* 'LIB-0001' with different metadata"):
        IlluminaSheet.parse(text).overrides_for("LIB-0001", None, DEFAULT)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[Header]\nRunName,R\n[Reads]\n151\n", r"no \[Data\] or \[BCLConvert_Data\] section"),
        ("[Header]\n[Data]\nLane,index\n1,ACGT\n", r"line 3: the \[Data\] section has no Sample_ID column"),
        (
            "[Header]\n[BCLConvert_Data]\nLane,Sample_ID\n1,A\nx,B\n,\n2,\n",
            r"line 5: Lane 'x'.*line 7: Sample_ID is empty",
        ),
        ('[Header]\n[Data]\nSample_ID\n"A\n', r"line \d+: not valid CSV"),
        ("[Header]\n[Data]\nSample_ID,Sample_Name\nA,=cmd()\n", r"line 4: subject_id '=cmd\(\)'.*formula"),
    ],
)
def test_malformed_sheets_name_the_line(text, message):
    with pytest.raises(SampleSheetError, match=message):
        IlluminaSheet.parse(text).overrides_for("A", None, DEFAULT)


def test_unknown_sections_and_columns_are_ignored():
    text = "[Header]\n[Something_New]\nfoo,bar\n[Data]\nSample_ID,Weird_Column\nA,1\n"
    assert IlluminaSheet.parse(text).overrides_for("A", None, DEFAULT) == {"sample_id": "A", "subject_id": "A"}


def test_sheet_is_looked_for_in_the_run_folder_and_its_fastq_and_reports_folders():
    expected = ("run/SampleSheet.csv", "run/Fastq/SampleSheet.csv", "run/Reports/SampleSheet.csv")
    assert sheet_keys("run/Fastq/A_S1_L001_R1_001.fastq.gz", "SampleSheet.csv") == expected
    assert sheet_keys("run/A_S1_R1_001.fastq.gz", "SampleSheet.csv") == expected
    assert sheet_keys("A.fastq.gz", "S.csv") == ("S.csv", "Fastq/S.csv", "Reports/S.csv")


def test_lane_of_file_names():
    assert lane_of("A_S1_L002_R1_001.fastq.gz") == 2
    assert lane_of("A_S1_R1_001.fastq.gz") is None


def test_columns_round_trip_and_reject_unknown_fields():
    columns = SheetColumns.merged({"subject_id": ["Patient_ID"]})
    assert SheetColumns.from_json(columns.to_json()) == columns
    with pytest.raises(ValueError, match=r"unknown sheet column fields \['subjct_id'\]"):
        SheetColumns.merged({"subjct_id": ["X"]})
    with pytest.raises(ValueError, match="must be a list of column names"):
        SheetColumns.merged({"subject_id": "Patient_ID"})
