"""Sample sheets: what a lab writes in a spreadsheet, and the errors it gets back."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from omics_autoload_runtime.domain.sample_sheet import (
    MAX_SHEET_BYTES,
    SampleSheet,
    SampleSheetError,
    SampleSheetRow,
)

HEADER = "source1,source2,subject_id,sample_id"
BASE = "s3://bucket/run1/omics-samplesheet.csv"


def parse(body: str, header: str = HEADER, base: str | None = BASE) -> SampleSheet:
    return SampleSheet.parse(f"{header}\n{body}", base_uri=base)


def error_of(body: str, header: str = HEADER, base: str | None = BASE) -> str:
    with pytest.raises(SampleSheetError) as caught:
        parse(body, header, base)
    return str(caught.value)


def test_relative_keys_resolve_against_the_sheet_folder():
    sheet = parse("a_1.fq.gz,a_2.fq.gz,P1,S1\nsub/b.bam,,P2,S2\ns3://other/c.fq,,P3,S3\n")
    assert [row.sources for row in sheet.rows] == [
        ("s3://bucket/run1/a_1.fq.gz", "s3://bucket/run1/a_2.fq.gz"),
        ("s3://bucket/run1/sub/b.bam",),
        ("s3://other/c.fq",),
    ]
    assert [row.line for row in sheet.rows] == [2, 3, 4]


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("s3://bucket/run1/", "s3://bucket/run1/x.fq"),
        ("s3://bucket/run1/sheet.csv", "s3://bucket/run1/x.fq"),
        ("s3://bucket", "s3://bucket/x.fq"),
    ],
)
def test_base_uri_forms(base, expected):
    assert parse("x.fq,,P,S\n", base=base).rows[0].source1 == expected


def test_row_for_finds_both_sources():
    sheet = parse("a_1.fq,a_2.fq,P1,S1\n", header=HEADER + ",name,description,generated_from")
    row = sheet.row_for("s3://bucket/run1/a_2.fq")
    assert row is sheet.row_for("s3://bucket/run1/a_1.fq")
    assert (row.source1, row.source2, row.subject_id, row.sample_id) == (
        "s3://bucket/run1/a_1.fq",
        "s3://bucket/run1/a_2.fq",
        "P1",
        "S1",
    )
    assert (row.name, row.description, row.generated_from) == (None, None, None)
    assert sheet.row_for("s3://bucket/run1/a_3.fq") is None
    assert row.overrides() == {
        "subject_id": "P1",
        "sample_id": "S1",
    }


def test_header_is_case_insensitive_any_order_and_cells_are_trimmed():
    sheet = parse(" P1 , S1 ,x.fq,, my name \n", header="Subject_ID,SAMPLE_ID,Source1,source2,Name")
    assert sheet.rows[0] == SampleSheetRow(
        line=2,
        source1="s3://bucket/run1/x.fq",
        source2=None,
        subject_id="P1",
        sample_id="S1",
        name="my name",
    )


def test_bom_crlf_and_blank_lines_are_tolerated():
    text = "\ufeff" + HEADER + "\r\n\r\nx.fq,,P,S\r\n,,,\r\n"
    sheet = SampleSheet.parse(text, base_uri=BASE)
    assert len(sheet) == 1
    assert SampleSheet.from_bytes(text.encode("utf-8"), base_uri=BASE).rows == sheet.rows


def test_semicolon_and_tab_separated_sheets():
    for separator in (";", "\t"):
        sheet = SampleSheet.parse(
            separator.join(HEADER.split(",")) + "\n" + separator.join(["x.fq", "", "P", "S"]) + "\n",
            base_uri=BASE,
        )
        assert sheet.rows[0].sample_id == "S"


@pytest.mark.parametrize("cell", ["=cmd|' /C calc'!A0", "+1", "-2", "@SUM(A1)", '=HYPERLINK("x")'])
@pytest.mark.parametrize("column", ["subject_id", "sample_id", "name", "generated_from"])
def test_formula_injection_in_identifier_cells_is_rejected(cell, column):
    header = "source1,subject_id,sample_id,source2,name,generated_from"
    values = {"subject_id": "P", "sample_id": "S", "name": "n", "generated_from": "g"}
    values[column] = cell
    row = ",".join(
        [
            "x.fq",
            *(f'"{values[c]}"' for c in ("subject_id", "sample_id")),
            "",
            f'"{values["name"]}"',
            f'"{values["generated_from"]}"',
        ]
    )
    message = error_of(row + "\n", header=header)
    assert f"line 2: {column}" in message
    assert "formula" in message


def test_description_may_start_with_a_dash():
    sheet = parse('x.fq,,P,S,"- control, rerun"\n', header=HEADER + ",description")
    assert sheet.rows[0].description == "- control, rerun"


def test_missing_and_unknown_columns_are_named():
    message = error_of("x.fq,P,S\n", header="source1,subject_id,sampleid")
    assert "unknown column 'sampleid'" in message
    assert "missing required column 'source2'" in message
    assert "missing required column 'sample_id'" in message


def test_duplicated_column():
    assert "column 'sample_id' appears twice" in error_of("x,,P,S,T\n", header=HEADER + ",sample_id")


def test_empty_sheet_and_illumina_sheet_get_a_clear_error():
    with pytest.raises(SampleSheetError, match="empty"):
        SampleSheet.parse("")
    with pytest.raises(SampleSheetError, match=r"Illumina instrument sample sheet: name it as illumina_sheet_name"):
        SampleSheet.parse("[Header]\nIEMFileVersion,5\n[Data]\nSample_ID,index\n")


def test_header_only_sheet_has_no_rows():
    assert len(SampleSheet.parse(HEADER + "\n")) == 0


def test_all_row_problems_are_reported_together_with_line_numbers():
    message = error_of(",,P,S\nx.fq,,,S\ny.fq,y.fq,P,S\nz.fq,,P,S,extra\n")
    assert "line 2: source1 is empty" in message
    assert "line 3: subject_id is empty" in message
    assert "line 4: source1 and source2 are the same file" in message
    assert "line 5: 5 cells but the header names 4 columns" in message


def test_long_error_lists_are_capped():
    message = error_of(",,P,S\n" * 30)
    assert "... and 10 more" in message


def test_relative_key_needs_a_base():
    assert "no S3 location" in error_of("x.fq,,P,S\n", base=None)
    assert parse("s3://b/x.fq,,P,S\n", base=None).rows[0].source1 == "s3://b/x.fq"


@pytest.mark.parametrize("key", ["../x.fq", "a/../x.fq", "/x.fq", "./x.fq"])
def test_relative_key_cannot_escape_the_folder(key):
    assert "must be a key below the sheet's folder" in error_of(f"{key},,P,S\n")


@pytest.mark.parametrize("value", ["s3://bucket", "s3://bucket/", "s3://bucket/dir/"])
def test_source_must_name_a_file(value):
    assert "not an s3://bucket/key URI of a file" in error_of(f"{value},,P,S\n")


def test_bad_base_uri():
    with pytest.raises(SampleSheetError, match="not an s3:// URI"):
        SampleSheet.parse(HEADER + "\n", base_uri="/local/path.csv")


def test_a_file_in_two_rows_is_an_error():
    message = error_of("a.fq,b.fq,P,S\nc.fq,a.fq,P,T\n")
    assert "line 3: s3://bucket/run1/a.fq is already used on line 2" in message


def test_size_cap():
    big = HEADER + "\n" + "x" * MAX_SHEET_BYTES
    with pytest.raises(SampleSheetError, match="larger than 10 MiB"):
        SampleSheet.parse(big, base_uri=BASE)
    with pytest.raises(SampleSheetError, match="larger than 10 MiB"):
        SampleSheet.from_bytes(big.encode(), base_uri=BASE)


def test_not_utf8():
    with pytest.raises(SampleSheetError, match="not UTF-8"):
        SampleSheet.from_bytes((HEADER + "\nx.fq,,P\xe9,S\n").encode("latin-1"), base_uri=BASE)


def test_broken_csv_is_reported_with_its_line():
    with pytest.raises(SampleSheetError, match=r"line \d+: not valid CSV"):
        SampleSheet.parse(HEADER + f"\nx.fq,,P,{'S' * 200_000}\n", base_uri=BASE)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_parses_or_raises_a_sample_sheet_error(text):
    for candidate in (text, HEADER + "\n" + text):
        try:
            SampleSheet.parse(candidate, base_uri=BASE)
        except SampleSheetError as error:
            assert str(error)
