"""Which reference an aligned file is imported against: key rules, then its header's @SQ lines."""

from omics_autoload_runtime.domain import references
from omics_autoload_runtime.domain.bam_header import read_header
from omics_autoload_runtime.domain.references import Chosen, Reference, ReferenceSet, Refused, Rule, choose

from tests.runtime.domain.hts_bytes import bam_header, bgzf, cram

G38 = Reference("GRCh38", arn="arn:aws:omics:us-east-1:123456789012:referenceStore/1/reference/38",
                contigs=references.GRCH38)  # fmt: skip
G37 = Reference("GRCh37", parameter_name="/refs/grch37", contigs=references.GRCH37)
CORE = ReferenceSet((G38, G37))


def _sam(contigs, extra=b""):
    lines = b"@HD\tVN:1.6\tSO:coordinate\n"
    for name, length in contigs:
        lines += b"@SQ\tSN:%s\tLN:%d%s\n" % (name.encode(), length, extra)
    return lines + b"@RG\tID:1\tSM:PAT-1\n"


def _primary(contigs):
    return sorted(contigs.items(), key=references._natural)


def _header(first_bytes):
    return read_header(first_bytes).record()


def test_the_header_of_a_bam_or_cram_chooses_among_grch37_and_grch38():
    bam38 = bgzf(bam_header(_sam(_primary(references.GRCH38)), [(b"chr1", 248956422)]))
    cram37 = cram(_sam(_primary(references.GRCH37), b"\tAS:GRCh37"))
    assert choose("runs/a.bam", _header(bam38), CORE) == Chosen(G38, "its header's @SQ lines")
    assert choose("runs/b.cram", _header(cram37), CORE).reference is G37  # type: ignore[union-attr]


def test_header_facts_keep_names_lengths_checksums_assembly_and_hd():
    facts = read_header(cram(_sam([("chr1", 248956422)], b"\tM5:6AEF897C3D6FF0C78AFF06AC189178DD\tAS:GRCh38")))
    assert facts.sequences == (("chr1", 248956422, "6aef897c3d6ff0c78aff06ac189178dd"),)
    assert facts.record() == {
        "sq": [["chr1", 248956422, "6aef897c3d6ff0c78aff06ac189178dd"]],
        "sqCount": 1,
        "as": ["GRCh38"],
        "hd": {"VN": "1.6", "SO": "coordinate"},
    }
    # No @SQ text: the BAM's binary reference list names them.
    binary = read_header(bgzf(bam_header(b"@HD\tVN:1.6\n", [(b"1", 249250621), (b"2", 243199373)])))
    assert binary.sequences == (("1", 249250621, ""), ("2", 243199373, ""))
    assert read_header(bgzf(bam_header(b"@HD\tVN:1.6\n", []))).record() == {"hd": {"VN": "1.6"}}


def test_a_header_cut_by_the_bytes_read_keeps_only_its_complete_lines():
    text = _sam(_primary(references.GRCH38))
    whole = bgzf(bam_header(text, []))
    cut = read_header(whole[: len(whole) // 2])
    assert 0 < len(cut.sequences) < 25
    assert all(references.GRCH38[name] == length for name, length, _ in cut.sequences)


def test_no_match_names_the_contigs_seen_and_the_references_configured():
    hg19 = bgzf(bam_header(_sam(_primary(references.HG19)), []))
    outcome = choose("runs/c.bam", _header(hg19), CORE)
    assert isinstance(outcome, Refused)
    assert "chr1:249250621" in outcome.reason  # what the file says
    assert "GRCh38: chr1 is 249,250,621 bases there, 248,956,422 in GRCh38" in outcome.reason
    assert "GRCh37: none of its @SQ names" in outcome.reason
    assert "not imported against another" in outcome.reason


def test_two_references_that_both_agree_are_ambiguous_not_guessed():
    twin = Reference("GRCh38-copy", arn="arn:aws:omics:x", contigs=references.GRCH38)
    outcome = choose("a.bam", _header(cram(_sam([("chr1", 248956422)]))), ReferenceSet((G38, twin)))
    assert isinstance(outcome, Refused) and "GRCh38, GRCh38-copy" in outcome.reason


def test_md5_checksums_tell_apart_what_lengths_cannot():
    patched = Reference("GRCh38", arn="arn:aws:omics:x", contigs={"chr1": 248956422}, md5s={"chr1": "aa" * 16})
    other = cram(_sam([("chr1", 248956422)], b"\tM5:" + b"bb" * 16))
    outcome = choose("a.cram", _header(other), ReferenceSet((patched, G37)))
    assert isinstance(outcome, Refused)
    assert f"GRCh38: chr1 has M5 {'bb' * 16} there, {'aa' * 16} in GRCh38" in outcome.reason
    assert "GRCh37: none of its @SQ names (chr1) are contigs of GRCh37" in outcome.reason


def test_a_key_rule_decides_but_never_against_the_header():
    rules = ReferenceSet((G38, G37), rules=(Rule("legacy/*", "GRCh37"), Rule("*.cram", "GRCh38")))
    assert choose("legacy/x/a.bam", None, rules) == Chosen(G37, "key rule 'legacy/*'")
    assert choose("new/a.cram", None, rules).reference is G38  # type: ignore[union-attr]
    b38 = _header(bgzf(bam_header(_sam([("chr1", 248956422)]), [])))
    refused = choose("legacy/a.bam", b38, rules)
    assert isinstance(refused, Refused)
    assert "'legacy/*' names reference GRCh37" in refused.reason and "chr1" in refused.reason


def test_without_header_facts_one_reference_or_the_default_is_used_else_refused():
    single = ReferenceSet((Reference("only", arn="arn:aws:omics:x"),))
    assert choose("a.bam", None, single).reference.name == "only"  # type: ignore[union-attr]
    # today's single reference, contigs unknown: whatever the header says
    assert isinstance(choose("a.bam", _header(cram(_sam([("1", 5)]))), single), Chosen)
    assert isinstance(choose("a.bam", None, CORE), Refused)
    assert choose("a.bam", None, ReferenceSet((G38, G37), default="GRCh37")).reference is G37  # type: ignore[union-attr]
    # a default with declared contigs is still checked
    hg19 = _header(cram(_sam([("chr1", 249250621)])))
    assert isinstance(choose("a.bam", hg19, ReferenceSet((G38, G37), default="GRCh38")), Refused)


def test_the_set_travels_as_json_and_names_its_problems():
    rules = ReferenceSet((G38, G37), rules=(Rule("legacy/*", "GRCh37"),), default="GRCh38")
    assert ReferenceSet.from_json(rules.to_json()) == rules
    bad = ReferenceSet((G38, G38, Reference("x")), rules=(Rule("a/*", "hg19"),), default="T2T").problems()
    assert any("configured twice" in p for p in bad)
    assert any("neither an ARN" in p for p in bad)
    assert any("'hg19'" in p for p in bad)
    assert any("'T2T'" in p for p in bad)
