"""CSV sample sheets: explicit pairing and metadata that win over file names.

Columns (header row, case-insensitive, any order): ``source1, source2, subject_id,
sample_id`` required, ``name, description, generated_from`` optional; no others, so a
misspelt column is an error instead of silently ignored data. Comma-, semicolon- or
tab-separated; UTF-8 with or without BOM; at most MAX_SHEET_BYTES.

``source1``/``source2`` are ``s3://`` URIs or keys relative to the sheet's folder. An
empty ``source2`` makes a single-file read set. ``source1``, ``subject_id`` and
``sample_id`` must not be empty. Identifier cells (``subject_id``, ``sample_id``,
``name``, ``generated_from``) must not start with ``= + - @`` (spreadsheet formula
injection when the values are later exported). Every problem is reported with its line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from omics_autoload_runtime.domain.s3_uri import split_s3_uri

MAX_SHEET_BYTES = 10 * 1024 * 1024
REQUIRED_COLUMNS = ("source1", "source2", "subject_id", "sample_id")
OPTIONAL_COLUMNS = ("name", "description", "generated_from")
_ID_COLUMNS = ("subject_id", "sample_id", "name", "generated_from")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_MAX_REPORTED = 20


class SampleSheetError(ValueError):
    """The sheet cannot be used; the message lists every problem with its line."""


@dataclass(frozen=True)
class SampleSheetRow:
    line: int
    source1: str
    source2: str | None
    subject_id: str
    sample_id: str
    name: str | None = None
    description: str | None = None
    generated_from: str | None = None

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.source1,) if self.source2 is None else (self.source1, self.source2)

    def overrides(self) -> dict[str, str]:
        """Metadata for pairing.assemble(overrides=...): only the cells that are filled."""
        values = {
            "subject_id": self.subject_id,
            "sample_id": self.sample_id,
            "name": self.name,
            "description": self.description,
            "generated_from": self.generated_from,
        }
        return {key: value for key, value in values.items() if value}


class SampleSheet:
    def __init__(self, rows: Sequence[SampleSheetRow]) -> None:
        self._rows = tuple(rows)
        self._by_uri: dict[str, SampleSheetRow] = {}
        problems = []
        for row in self._rows:
            for uri in row.sources:
                earlier = self._by_uri.get(uri)
                if earlier is not None:
                    problems.append(f"line {row.line}: {uri} is already used on line {earlier.line}")
                self._by_uri.setdefault(uri, row)
        _raise_if(problems)

    @classmethod
    def parse(cls, text: str, base_uri: str | None = None) -> SampleSheet:
        """`base_uri`: the sheet's own S3 URI, or a folder URI ending in '/'; relative keys
        are resolved against that folder."""
        if len(text) > MAX_SHEET_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_SHEET_BYTES:
            raise SampleSheetError(f"the sample sheet is larger than {MAX_SHEET_BYTES // (1024 * 1024)} MiB")
        folder = _folder_of(base_uri)
        return cls(_Reader(text.removeprefix("\ufeff"), folder).rows())

    @classmethod
    def from_bytes(cls, data: bytes, base_uri: str | None = None) -> SampleSheet:
        return cls.parse(sheet_text(data), base_uri)

    @property
    def rows(self) -> tuple[SampleSheetRow, ...]:
        return self._rows

    def __len__(self) -> int:
        return len(self._rows)

    def row_for(self, uri: str) -> SampleSheetRow | None:
        return self._by_uri.get(uri)


def sheet_text(data: bytes) -> str:
    """A sheet's bytes as text (either kind of sheet); raises SampleSheetError when too large or not UTF-8."""
    if len(data) > MAX_SHEET_BYTES:
        raise SampleSheetError(f"the sample sheet is larger than {MAX_SHEET_BYTES // (1024 * 1024)} MiB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SampleSheetError(f"the sample sheet is not UTF-8 (byte {error.start}); save it as CSV UTF-8") from None


def _raise_if(problems: list[str]) -> None:
    if not problems:
        return
    shown = problems[:_MAX_REPORTED]
    more = len(problems) - len(shown)
    tail = f"\n  ... and {more} more" if more else ""
    raise SampleSheetError("invalid sample sheet:\n  " + "\n  ".join(shown) + tail)


def _folder_of(base_uri: str | None) -> str | None:
    if base_uri is None:
        return None
    if not base_uri.startswith("s3://") or len(base_uri) <= len("s3://"):
        raise SampleSheetError(f"the sample sheet location {base_uri!r} is not an s3:// URI")
    if split_s3_uri(base_uri) is None:  # a bare bucket: s3://bucket
        return base_uri + "/"
    return base_uri.rpartition("/")[0] + "/"


def _sniff_delimiter(header_line: str) -> str:
    """Spreadsheets in some locales save CSV with ';' and people paste TSV."""
    if "," in header_line:
        return ","
    if ";" in header_line:
        return ";"
    return "\t" if "\t" in header_line else ","


class _Reader:
    def __init__(self, text: str, folder: str | None) -> None:
        self.text = text
        self.folder = folder
        self.problems: list[str] = []

    def rows(self) -> list[SampleSheetRow]:
        first_line = self.text.split("\n", 1)[0]
        reader = csv.reader(io.StringIO(self.text, newline=""), delimiter=_sniff_delimiter(first_line))
        try:
            columns = self._header(next(reader, None))
            rows = [row for row in self._body(reader, columns) if row is not None]
        except csv.Error as error:
            raise SampleSheetError(f"line {reader.line_num}: not valid CSV ({error})") from None
        _raise_if(self.problems)
        return rows

    def _header(self, header: list[str] | None) -> list[str]:
        if not header or not any(cell.strip() for cell in header):
            raise SampleSheetError(
                "the sample sheet is empty; its first line must name the columns " + ", ".join(REQUIRED_COLUMNS)
            )
        columns = [cell.strip().lower() for cell in header]
        if columns[0].startswith("[header]") or columns[0].startswith("[data]"):
            raise SampleSheetError(
                "this is an Illumina instrument sample sheet: name it as illumina_sheet_name says"
                " (default SampleSheet.csv) to have it read as one; this file needs columns "
                + ", ".join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
            )
        self._check_columns(columns)
        return columns

    def _check_columns(self, columns: list[str]) -> None:
        allowed = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
        problems = [f"unknown column {c!r}; allowed: {', '.join(allowed)}" for c in columns if c not in allowed]
        problems += [f"missing required column {c!r}" for c in REQUIRED_COLUMNS if c not in columns]
        problems += [f"column {c!r} appears twice" for c in sorted(set(columns)) if columns.count(c) > 1]
        if problems:
            raise SampleSheetError("invalid sample sheet header (line 1): " + "; ".join(problems))

    def _body(self, reader: Any, columns: list[str]) -> Iterator[SampleSheetRow | None]:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(columns):
                self.problems.append(f"line {line}: {len(cells)} cells but the header names {len(columns)} columns")
                continue
            values = {column: cell.strip() for column, cell in zip(columns, cells, strict=False)}
            yield self._row(line, values)

    def _row(self, line: int, values: dict[str, str]) -> SampleSheetRow | None:
        before = len(self.problems)
        for column in ("source1", "subject_id", "sample_id"):
            if not values.get(column):
                self.problems.append(f"line {line}: {column} is empty")
        for column in _ID_COLUMNS:
            if values.get(column, "").startswith(FORMULA_STARTS):
                self.problems.append(
                    f"line {line}: {column} {values[column]!r} starts with"
                    f" {values[column][0]!r}, which spreadsheets run as a formula;"
                    " remove that character"
                )
        source1 = self._source(line, "source1", values.get("source1", ""))
        source2 = self._source(line, "source2", values.get("source2", "")) or None
        if source1 and source1 == source2:
            self.problems.append(f"line {line}: source1 and source2 are the same file")
        if len(self.problems) > before:
            return None
        return SampleSheetRow(
            line=line,
            source1=source1,
            source2=source2,
            subject_id=values["subject_id"],
            sample_id=values["sample_id"],
            name=values.get("name") or None,
            description=values.get("description") or None,
            generated_from=values.get("generated_from") or None,
        )

    def _source(self, line: int, column: str, value: str) -> str:
        if not value:
            return ""
        if value[:5].lower() == "s3://":
            uri = "s3://" + value[5:]
        elif self.folder is None:
            self.problems.append(
                f"line {line}: {column} {value!r} is not an s3:// URI and the sheet has"
                " no S3 location to resolve it against"
            )
            return ""
        elif value.startswith("/") or any(part in (".", "..") for part in value.split("/")):
            self.problems.append(
                f"line {line}: {column} {value!r} must be a key below the sheet's folder"
                " (no leading /, no . or .. parts)"
            )
            return ""
        else:
            uri = self.folder + value
        parts = split_s3_uri(uri)
        if parts is None or not parts[1] or uri.endswith("/"):
            self.problems.append(f"line {line}: {column} {value!r} is not an s3://bucket/key URI of a file")
            return ""
        return uri
