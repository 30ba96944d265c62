"""Which configured reference genome a BAM or CRAM was aligned to: by key rule, or by its header.

A core keeps GRCh37 and GRCh38 (and others) side by side, and HealthOmics imports an aligned
file only against the reference its reads are placed on. So the choice is never a guess:

1. A key rule (a glob over the object key, first match wins) names the reference; the
   header, when read, must not contradict it.
2. Otherwise the header's ``@SQ`` lines (names, lengths and ``M5`` checksums) are compared
   with each reference's declared contigs: exactly one reference must agree. Names are
   compared exactly (``chr1`` is not ``1``): HealthOmics places reads by contig name.
3. Otherwise the one reference configured, or the default reference, is used when nothing
   in the header contradicts it (a reference without declared contigs cannot be checked).

Anything else is a refusal whose reason names the contigs seen and the references
configured. Contigs are declared per reference (the construct's ``contigs`` prop, with the
built-in sets below), not read from the FASTA index: a ``.fai`` of GRCh38 with its alt and
decoy contigs is ~3,400 lines, over the 4 KiB a custom resource may return; the primary
chromosomes alone tell the assemblies apart.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

_AUTOSOMES = tuple(str(n) for n in range(1, 23))
_GRCH38_LENGTHS = (
    248956422, 242193529, 198295559, 190214555, 181538259, 170805979, 159345973, 145138636,
    138394717, 133797422, 135086622, 133275309, 114364328, 107043718, 101991189, 90338345,
    83257441, 80373285, 58617616, 64444167, 46709983, 50818468,
)  # fmt: skip
_GRCH37_LENGTHS = (
    249250621, 243199373, 198022430, 191154276, 180915260, 171115067, 159138663, 146364022,
    141213431, 135534747, 135006516, 133851895, 115169878, 107349540, 102531392, 90354753,
    81195210, 78077248, 59128983, 63025520, 48129895, 51304566,
)  # fmt: skip


def _contigs(prefix: str, lengths: Sequence[int], x: int, y: int, mito: tuple[str, int]) -> dict[str, int]:
    found = {f"{prefix}{name}": length for name, length in zip(_AUTOSOMES, lengths, strict=True)}
    found.update({f"{prefix}X": x, f"{prefix}Y": y, mito[0]: mito[1]})
    return found


#: GRCh38 with UCSC names (``chr1``..``chrM``), as in Broad's and NCBI's analysis sets.
GRCH38 = _contigs("chr", _GRCH38_LENGTHS, 156040895, 57227415, ("chrM", 16569))
#: GRCh38 with Ensembl names (``1``..``MT``).
GRCH38_ENSEMBL = _contigs("", _GRCH38_LENGTHS, 156040895, 57227415, ("MT", 16569))
#: GRCh37 / b37 with Ensembl / 1000 Genomes names (``1``..``MT``, the rCRS mitochondrion).
GRCH37 = _contigs("", _GRCH37_LENGTHS, 155270560, 59373566, ("MT", 16569))
#: UCSC hg19 (``chr1``..``chrM``, whose mitochondrion is 16,571 bases, not rCRS).
HG19 = _contigs("chr", _GRCH37_LENGTHS, 155270560, 59373566, ("chrM", 16571))

_SHOWN = 4  # contigs quoted in a reason


@dataclass(frozen=True)
class Reference:
    """One configured reference: its name, where its ARN is, and what it is known to contain."""

    name: str
    arn: str = ""  # static ARN, or
    parameter_name: str = ""  # the SSM parameter that holds it, read at run time
    contigs: Mapping[str, int] = field(default_factory=dict)  # name -> length; empty: not checked
    md5s: Mapping[str, str] = field(default_factory=dict)  # name -> M5 (optional)

    def describe(self) -> str:
        if not self.contigs:
            return f"{self.name} (no contigs declared)"
        return f"{self.name} ({_quote(sorted(self.contigs.items(), key=_natural)[:_SHOWN])})"


@dataclass(frozen=True)
class Rule:
    """Objects whose key matches ``pattern`` (``fnmatch`` glob; ``*`` also crosses ``/``) use ``reference``."""

    pattern: str
    reference: str


@dataclass(frozen=True)
class ReferenceSet:
    references: tuple[Reference, ...] = ()
    rules: tuple[Rule, ...] = ()
    default: str = ""  # the reference used when neither a rule nor the header decides

    @property
    def configured(self) -> bool:
        return bool(self.references)

    @property
    def reads_headers(self) -> bool:
        """Whether the choice needs each BAM's/CRAM's header (more than one, or contigs to check)."""
        return len(self.references) > 1 or any(r.contigs for r in self.references)

    def named(self, name: str) -> Reference | None:
        return next((r for r in self.references if r.name == name), None)

    def problems(self) -> list[str]:
        found = []
        names = [r.name for r in self.references]
        for name in sorted({n for n in names if names.count(n) > 1}):
            found.append(f"reference {name!r} is configured twice")
        for ref in self.references:
            if not ref.name.strip():
                found.append("a reference needs a name")
            if not (ref.arn or ref.parameter_name):
                found.append(f"reference {ref.name!r} has neither an ARN nor a parameter name")
            bad = [
                f"{k}={v!r}" for k, v in ref.contigs.items() if isinstance(v, bool) or not isinstance(v, int) or v < 1
            ]
            if bad:
                found.append(f"reference {ref.name!r}: contig lengths must be whole numbers above 0, not {bad[:3]}")
        for rule in self.rules:
            if rule.reference not in names:
                found.append(f"reference rule {rule.pattern!r} names {rule.reference!r}, not one of {names}")
            if not rule.pattern.strip():
                found.append(f"a reference rule for {rule.reference!r} has an empty pattern")
        if self.default and self.default not in names:
            found.append(f"default reference {self.default!r} is not one of {names}")
        return found

    def to_json(self) -> str:
        data = {
            "references": [
                {k: v for k, v in (("name", r.name), ("arn", r.arn), ("parameterName", r.parameter_name),
                                   ("contigs", dict(r.contigs)), ("md5s", dict(r.md5s))) if v}
                for r in self.references
            ],
            "rules": [[rule.pattern, rule.reference] for rule in self.rules],
            "default": self.default,
        }  # fmt: skip
        return json.dumps({k: v for k, v in data.items() if v}, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> ReferenceSet:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("the reference set must be a JSON object")
        references = tuple(
            Reference(
                name=r["name"],
                arn=r.get("arn", ""),
                parameter_name=r.get("parameterName", ""),
                contigs=dict(r.get("contigs") or {}),
                md5s=dict(r.get("md5s") or {}),
            )
            for r in data.get("references", ())
        )
        rules = tuple(Rule(pattern, reference) for pattern, reference in data.get("rules", ()))
        return cls(references, rules, data.get("default", ""))


# ------------------------------------------------------------------ the choice


@dataclass(frozen=True)
class Chosen:
    reference: Reference
    why: str


@dataclass(frozen=True)
class Refused:
    reason: str


def choose(key: str, header: Mapping[str, Any] | None, references: ReferenceSet) -> Chosen | Refused:
    """The reference an aligned object is imported against, or why none can be.

    ``header``: what intake recorded of the file's header (``bam_header.HeaderFacts.record``),
    None when it was not read.
    """
    sequences = _sequences(header)
    for rule in references.rules:
        if fnmatch.fnmatchcase(key, rule.pattern):
            chosen = references.named(rule.reference)
            assert chosen is not None  # checked by ReferenceSet.problems at synth time
            conflict = _conflict(sequences, chosen)
            if conflict:
                return Refused(
                    f"key rule {rule.pattern!r} names reference {chosen.name}, but the file's header says"
                    f" otherwise ({conflict}): fix the rule or the file, then run `omics-autoload redrive`"
                )
            return Chosen(chosen, f"key rule {rule.pattern!r}")
    configured = "; ".join(r.describe() for r in references.references)
    if sequences:
        agree = [r for r in references.references if r.contigs and not _conflict(sequences, r)]
        if len(agree) == 1:
            return Chosen(agree[0], "its header's @SQ lines")
        seen = _quote(sequences[:_SHOWN]) + (f" and {len(sequences) - _SHOWN} more" if len(sequences) > _SHOWN else "")
        if len(agree) > 1:
            return Refused(
                f"its header's @SQ lines ({seen}) agree with more than one configured reference"
                f" ({', '.join(r.name for r in agree)}): nothing is guessed; add a key rule"
                " (reference_rules) for these files, then run `omics-autoload redrive`"
            )
        fallback = _fallback(references)
        if fallback is not None and not fallback.contigs:
            return Chosen(fallback, "the default reference (its contigs are not declared, so not checked)")
        why = "; ".join(
            f"{r.name}: {_conflict(sequences, r)}" if r.contigs else r.describe() for r in references.references
        )
        return Refused(
            f"its header's @SQ lines ({seen}) match none of the configured references ({why});"
            " it was aligned to a reference not configured here and is not imported against another:"
            " add that reference (or its contigs), then run `omics-autoload redrive`"
        )
    fallback = _fallback(references)
    if fallback is not None:
        return Chosen(fallback, "the default reference (no @SQ lines read from the header)")
    return Refused(
        "no key rule matched and the header gave no @SQ lines to tell which of the configured"
        f" references ({configured}) it was aligned to: add a key rule (reference_rules), then run"
        " `omics-autoload redrive`"
    )


def _fallback(references: ReferenceSet) -> Reference | None:
    if references.default:
        return references.named(references.default)
    return references.references[0] if len(references.references) == 1 else None


def _conflict(sequences: Sequence[tuple[str, int, str]], reference: Reference) -> str:
    """Why the header cannot come from ``reference`` ("" when it may); no evidence is no conflict."""
    if not sequences or not reference.contigs:
        return ""
    shared = 0
    for name, length, md5 in sequences:
        if name not in reference.contigs:
            continue
        shared += 1
        if reference.contigs[name] != length:
            return f"{name} is {length:,} bases there, {reference.contigs[name]:,} in {reference.name}"
        known = reference.md5s.get(name)
        if md5 and known and md5.lower() != known.lower():
            return f"{name} has M5 {md5} there, {known} in {reference.name}"
    if not shared:
        names = ", ".join(name for name, _, _ in sequences[:_SHOWN]) + (", ..." if len(sequences) > _SHOWN else "")
        return f"none of its @SQ names ({names}) are contigs of {reference.name}"
    return ""


def _sequences(header: Mapping[str, Any] | None) -> list[tuple[str, int, str]]:
    out = []
    for entry in (header or {}).get("sq") or ():
        name, length = str(entry[0]), int(entry[1])
        out.append((name, length, str(entry[2]) if len(entry) > 2 else ""))
    return out


def _quote(contigs: Sequence[tuple[Any, ...]]) -> str:
    return ", ".join(f"{c[0]}:{c[1]}" for c in contigs)


def _natural(item: tuple[str, int]) -> tuple[int, str]:
    """chr1, chr2 .. chr10 before chrX: the order people read a karyotype in."""
    digits = "".join(ch for ch in item[0] if ch.isdigit())
    return (int(digits) if digits else 10**6, item[0])
