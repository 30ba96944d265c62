"""ReadSet: one HealthOmics import source, and the metadata that can override its names.

Metadata precedence (rising): built-in name parsing < user pattern < S3 object tags <
sample sheet. The parsed names come with the FileRole; tags and sheet rows arrive as
overrides (keys in OVERRIDE_FIELDS) applied here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from omics_autoload_runtime.contract import FileType
from omics_autoload_runtime.domain import limits
from omics_autoload_runtime.domain.classify import FileRole

OVERRIDE_FIELDS = ("subject_id", "sample_id", "name", "description", "generated_from")
_TAG_FIELDS = {
    "subjectid": "subject_id",
    "sampleid": "sample_id",
    "name": "name",
    "description": "description",
    "generatedfrom": "generated_from",
}


@dataclass(frozen=True)
class ReadSet:
    file_type: FileType
    source1: str
    source2: str | None
    subject_id: str
    sample_id: str
    name: str
    group_key: str
    description: str | None = None
    generated_from: str | None = None
    reference_arn: str | None = None

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.source1,) if self.source2 is None else (self.source1, self.source2)

    def to_import_source(self) -> dict[str, Any]:
        """This read set as one ``sources`` item of StartReadSetImportJob."""
        files = {"source1": self.source1}
        if self.source2 is not None:
            files["source2"] = self.source2
        item: dict[str, Any] = {
            "sourceFiles": files,
            "sourceFileType": self.file_type,
            "subjectId": self.subject_id,
            "sampleId": self.sample_id,
            "name": self.name,
        }
        _put_optional(item, self)
        if self.file_type not in limits.ALIGNED_FILE_TYPES:
            item.pop("referenceArn", None)
        return item

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "sourceFileType": self.file_type,
            "source1": self.source1,
            "source2": self.source2,
            "subjectId": self.subject_id,
            "sampleId": self.sample_id,
            "name": self.name,
            "groupKey": self.group_key,
        }
        _put_optional(data, self)
        return data


def _put_optional(target: dict[str, Any], read_set: ReadSet) -> None:
    for key, value in (
        ("description", read_set.description),
        ("generatedFrom", read_set.generated_from),
        ("referenceArn", read_set.reference_arn),
    ):
        if value is not None:
            target[key] = value


def read_set_of(roles: Sequence[FileRole], reference_arn: str | None) -> ReadSet:
    """The read set of one file, or of two mates in order, with the names parsed from the first."""
    first = roles[0]
    aligned = first.file_type in limits.ALIGNED_FILE_TYPES
    return ReadSet(
        file_type=first.file_type,
        source1=first.uri,
        source2=roles[1].uri if len(roles) == 2 else None,
        subject_id=first.subject_id,
        sample_id=first.sample_id,
        name=first.name,
        group_key=first.group_key,
        description=first.description,
        generated_from=first.generated_from,
        reference_arn=reference_arn if aligned else None,
    )


def with_overrides(read_set: ReadSet, first: FileRole, overrides: Mapping[str, str | None]) -> ReadSet:
    """`read_set` with the given overrides (None or "" means not given).

    A subject id that only defaulted to the sample id follows an overridden sample id.
    """
    unknown = set(overrides) - set(OVERRIDE_FIELDS)
    if unknown:
        raise ValueError(f"unknown override keys {sorted(unknown)}; allowed: {', '.join(OVERRIDE_FIELDS)}")
    given: dict[str, Any] = {key: value for key, value in overrides.items() if value}
    if "sample_id" in given and "subject_id" not in given and first.subject_id == first.sample_id:
        given["subject_id"] = given["sample_id"]
    return replace(read_set, **given) if given else read_set


def overrides_from_tags(tags: Mapping[str, str] | None) -> dict[str, str]:
    """Metadata overrides from S3 object tags; other tags are ignored.

    Accepted keys, case-insensitive, '_', '-' and ' ' ignored: SubjectId (subject_id),
    SampleId (sample_id), Name, Description, GeneratedFrom (generated_from). Values are
    stripped; empty values are ignored.
    """
    found: dict[str, str] = {}
    for key, value in (tags or {}).items():
        normal = re.sub(r"[-_ ]", "", key).lower()
        if normal in _TAG_FIELDS and value and value.strip():
            found[_TAG_FIELDS[normal]] = value.strip()
    return found


def merged_tags(uris: Sequence[str], tags: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """The overrides from the tags of a read set's files; source1's tags win over source2's."""
    merged: dict[str, str] = {}
    for uri in reversed(uris):
        merged.update(overrides_from_tags(tags.get(uri)))
    return merged
