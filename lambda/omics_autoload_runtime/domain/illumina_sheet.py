"""Illumina instrument sample sheets (``SampleSheet.csv``) as they come off the sequencer.

Both formats are read:

* v1 (bcl2fastq, Illumina Experiment Manager): ``[Header]`` (``Experiment Name``...),
  ``[Reads]``, ``[Settings]``, ``[Data]`` with ``Lane, Sample_ID, Sample_Name, index,
  index2, Sample_Project``...
* v2 (BCL Convert, ``FileFormatVersion,2``): ``[Header]`` (``RunName``...),
  ``[BCLConvert_Data]`` with ``Lane, Sample_ID, Index, Index2``..., and other
  ``*_Data`` sections and ``[Cloud_Data]`` (``ProjectName``, ``LibraryName``) whose rows
  add their columns to the ``[BCLConvert_Data]`` rows of the same ``Sample_ID``.

Other sections (``[Reads]``, ``*_Settings``) and unknown columns are ignored. A row
matches a file by the sample the file name gives (``{Sample_ID}_S1_L001_R1_001.fastq.gz``
as BCL Convert writes it; bcl2fastq writes ``Sample_Name`` there when the sheet has one)
and, when both the sheet and the file name have a lane, by ``Lane``. :class:`SheetColumns`
says which column (or ``[Header]`` field) feeds which read-set field. Problems are
reported with their line.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields

from omics_autoload_runtime import contract
from omics_autoload_runtime.domain.s3_uri import split_s3_uri
from omics_autoload_runtime.domain.sample_sheet import FORMULA_STARTS, SampleSheetError, sheet_text

# Where labs keep the sheet: the run folder, or its BCL Convert / Local Run Manager subfolders.
RUN_SUBFOLDERS = ("Fastq", "Reports")
_PRIMARY_SECTIONS = ("BCLConvert_Data", "Data")  # v2 first: a v2 sheet has no [Data]
_LANE_IN_NAME = re.compile(r"_L(\d{3})(?=[._])", re.IGNORECASE)


@dataclass(frozen=True)
class SheetColumns:
    """For each read-set field, the sheet columns (or ``[Header]`` fields) tried in order;
    the first non-empty one wins. The subject id falls back to the sample id."""

    sample_id: tuple[str, ...] = ("Sample_ID",)
    subject_id: tuple[str, ...] = ("Sample_Name",)
    description: tuple[str, ...] = ("Sample_Project", "ProjectName")
    generated_from: tuple[str, ...] = ("RunName", "Experiment Name")

    @staticmethod
    def fields() -> tuple[str, ...]:
        return tuple(f.name for f in fields(SheetColumns))

    @classmethod
    def merged(cls, changes: Mapping[str, Sequence[str]] | None) -> SheetColumns:
        """The defaults with some fields replaced; raises ValueError naming a bad field."""
        changes = dict(changes or {})
        unknown = sorted(set(changes) - set(cls.fields()))
        if unknown:
            raise ValueError(f"unknown sheet column fields {unknown}; known fields: {list(cls.fields())}")
        for name, columns in changes.items():
            if isinstance(columns, str) or not all(isinstance(c, str) and c.strip() for c in columns):
                raise ValueError(f"sheet columns for {name} must be a list of column names, not {columns!r}")
        return cls(**{name: tuple(columns) for name, columns in changes.items()})

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> SheetColumns:
        return cls.merged(json.loads(text))


def sheet_keys(key: str, sheet_name: str) -> tuple[str, ...]:
    """The keys where the sheet of the run holding object `key` may be, nearest first."""
    folder = key.rpartition("/")[0]
    parent, _, last = folder.rpartition("/")
    run = parent if last.lower() in (name.lower() for name in RUN_SUBFOLDERS) else folder
    prefix = f"{run}/" if run else ""
    return (f"{prefix}{sheet_name}", *(f"{prefix}{sub}/{sheet_name}" for sub in RUN_SUBFOLDERS))


def lane_of(file_name: str) -> int | None:
    """The lane an Illumina file name gives (``_L002_``), or None."""
    match = _LANE_IN_NAME.search(file_name)
    return int(match.group(1)) if match else None


def sheet_or_error(uri: str, data: bytes) -> IlluminaSheet | str:
    """The sheet at `uri`, or the sentence that fails the files it covers."""
    try:
        return IlluminaSheet.from_bytes(data)
    except SampleSheetError as error:
        return f"the Illumina sample sheet {uri} is invalid: {error}"


@dataclass(frozen=True)
class RunSheets:
    """The Illumina sheets of a whole listing, for ``plan``: by URI, each parsed or its error."""

    sheets: Mapping[str, IlluminaSheet | str]
    name: str = contract.ILLUMINA_SHEET_NAME
    columns: SheetColumns = SheetColumns()

    def fields_for(self, uri: str, sample: str) -> dict[str, str] | None:
        """What the sheet of the file's run says of it, as intake finds it; raises
        SampleSheetError when that sheet is malformed."""
        bucket, key = split_s3_uri(uri) or ("", "")
        for sheet_key in sheet_keys(key, self.name):
            sheet = self.sheets.get(f"s3://{bucket}/{sheet_key}")
            if isinstance(sheet, str):
                raise SampleSheetError(sheet)
            if sheet is not None:
                return sheet.overrides_for(sample, lane_of(key.rpartition("/")[2]), self.columns)
        return None


@dataclass(frozen=True)
class _Row:
    line: int
    cells: Mapping[str, str]  # lower-cased column -> value, other sections' columns added

    def get(self, column: str) -> str:
        return self.cells.get(column.lower(), "")


class IlluminaSheet:
    def __init__(self, header: Mapping[str, str], rows: Sequence[_Row], has_lanes: bool, version: int) -> None:
        self.header = dict(header)
        self.rows = tuple(rows)
        self.has_lanes = has_lanes
        self.version = version

    @classmethod
    def from_bytes(cls, data: bytes) -> IlluminaSheet:
        return cls.parse(sheet_text(data))

    @classmethod
    def parse(cls, text: str) -> IlluminaSheet:
        return _Parser(text.removeprefix("\ufeff")).sheet()

    def overrides_for(self, sample: str, lane: int | None, columns: SheetColumns) -> dict[str, str] | None:
        """The read-set metadata of a file whose name gives `sample` (and `lane`), None when no
        row names it; raises SampleSheetError when its rows disagree."""
        rows = self._rows_named(sample, lane)
        found = {tuple(sorted(self._fields(row, columns).items())): row.line for row in rows}
        if len(found) > 1:
            lines = ", ".join(str(line) for line in sorted(found.values()))
            raise SampleSheetError(
                f"lines {lines} of the Illumina sample sheet name {sample!r} with different metadata;"
                " give its rows the same values"
            )
        return dict(next(iter(found))) if found else None

    def _rows_named(self, sample: str, lane: int | None) -> list[_Row]:
        in_lane = [row for row in self.rows if lane is None or not row.get("Lane") or int(row.get("Lane")) == lane]
        by_id = [row for row in in_lane if row.get("Sample_ID") == sample]
        if by_id or self.version != 1:
            return by_id
        return [row for row in in_lane if row.get("Sample_Name") == sample]  # bcl2fastq's file names

    def _fields(self, row: _Row, columns: SheetColumns) -> dict[str, str]:
        values = {name: self._first(row, getattr(columns, name)) for name in SheetColumns.fields()}
        values["subject_id"] = values["subject_id"] or values["sample_id"]
        problems = [
            f"line {row.line}: {name} {value!r} starts with {value[0]!r}, which spreadsheets run as a formula"
            for name, value in values.items()
            if name != "description" and value.startswith(FORMULA_STARTS)
        ]
        if problems:
            raise SampleSheetError("; ".join(problems))
        return {name: value for name, value in values.items() if value}

    def _first(self, row: _Row, names: Sequence[str]) -> str:
        for name in names:
            value = row.get(name) or self.header.get(name.lower(), "")
            if value:
                return value
        return ""


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.header: dict[str, str] = {}
        self.tables: dict[str, tuple[int, list[str], list[tuple[int, list[str]]]]] = {}

    def sheet(self) -> IlluminaSheet:
        self._read_sections()
        primary = next((name for name in _PRIMARY_SECTIONS if name.lower() in self.tables), None)
        if primary is None:
            raise SampleSheetError("the Illumina sample sheet has no [Data] or [BCLConvert_Data] section")
        line, columns, body = self.tables[primary.lower()]
        if "sample_id" not in columns:
            raise SampleSheetError(f"line {line}: the [{primary}] section has no Sample_ID column")
        extra = self._other_columns(primary.lower())
        rows, problems = [], []
        for row_line, cells in body:
            values = {column: cell.strip() for column, cell in zip(columns, cells, strict=False) if column}
            problems += self._row_problems(row_line, values)
            for column, value in extra.get(values.get("sample_id", ""), {}).items():
                values.setdefault(column, value)
            rows.append(_Row(row_line, values))
        if problems:
            raise SampleSheetError("invalid Illumina sample sheet: " + "; ".join(problems[:20]))
        version = 2 if primary == "BCLConvert_Data" or self.header.get("fileformatversion") == "2" else 1
        return IlluminaSheet(self.header, rows, "lane" in columns, version)

    def _read_sections(self) -> None:
        reader = csv.reader(io.StringIO(self.text, newline=""), strict=True)
        section = ""
        try:
            for cells in reader:
                first = cells[0].strip() if cells else ""
                if first.startswith("[") and first.endswith("]"):
                    section = first[1:-1].strip().lower()
                elif any(cell.strip() for cell in cells):
                    self._add(section, reader.line_num, cells)
        except csv.Error as error:
            raise SampleSheetError(f"line {reader.line_num}: not valid CSV ({error})") from None

    def _add(self, section: str, line: int, cells: list[str]) -> None:
        if section == "header":
            self.header.setdefault(cells[0].strip().lower(), cells[1].strip() if len(cells) > 1 else "")
        elif section == "data" or section.endswith("_data"):
            if section not in self.tables:
                self.tables[section] = (line, [cell.strip().lower() for cell in cells], [])
            else:
                self.tables[section][2].append((line, cells))

    def _other_columns(self, primary: str) -> dict[str, dict[str, str]]:
        """Sample_ID -> the columns other *_Data / [Cloud_Data] sections give it."""
        extra: dict[str, dict[str, str]] = {}
        for section, (_, columns, body) in self.tables.items():
            if section == primary or "sample_id" not in columns:
                continue
            for _, cells in body:
                values = {column: cell.strip() for column, cell in zip(columns, cells, strict=False) if column}
                target = extra.setdefault(values.get("sample_id", ""), {})
                for column, value in values.items():
                    target.setdefault(column, value)
        return extra

    @staticmethod
    def _row_problems(line: int, values: Mapping[str, str]) -> list[str]:
        problems = [] if values.get("sample_id") else [f"line {line}: Sample_ID is empty"]
        lane = values.get("lane", "")
        if lane and not lane.isdigit():
            problems.append(f"line {line}: Lane {lane!r} is not a lane number")
        return problems
