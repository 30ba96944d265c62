"""Planning a listing: what a user sees in a plan for real-world listings."""

import csv
import io

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from omics_autoload_runtime.contract import FileType, SkipCode
from omics_autoload_runtime.domain.bam_header import HeaderFacts
from omics_autoload_runtime.domain.classify import FileRole, Skip, classify
from omics_autoload_runtime.domain.options import AssemblyOptions
from omics_autoload_runtime.domain.planning import batches, plan
from omics_autoload_runtime.domain.read_sets import ReadSet, overrides_from_tags
from omics_autoload_runtime.domain.s3_uri import decode_s3_event_key
from omics_autoload_runtime.domain.sample_sheet import SampleSheet
from omics_autoload_runtime.domain.validation import validate

from .listings import REF, RUN1, RUN2, only_read_set, reasons, uris

# ---------------------------------------------------------------- naming families


@pytest.mark.parametrize(
    ("mate1", "mate2", "name", "sample"),
    [
        ("A_S1_L001_R1_001.fastq.gz", "A_S1_L001_R2_001.fastq.gz", "A_S1_L001", "A"),
        ("A_S12_R1_001.fastq.gz", "A_S12_R2_001.fastq.gz", "A_S12", "A"),
        ("NA12878_R1.fastq.gz", "NA12878_R2.fastq.gz", "NA12878", "NA12878"),
        ("NA12878.R1.fq.gz", "NA12878.R2.fq.gz", "NA12878", "NA12878"),
        ("NA12878_R1_001.fq", "NA12878_R2_001.fq", "NA12878", "NA12878"),
        ("tumor_r1.fq.gz", "tumor_r2.fq.gz", "tumor", "tumor"),
        ("SRR5660030_1.fastq.gz", "SRR5660030_2.fastq.gz", "SRR5660030", "SRR5660030"),
        ("ERR3239334_1.fastq", "ERR3239334_2.fastq", "ERR3239334", "ERR3239334"),
        ("liver_1.fq.gz", "liver_2.fq.gz", "liver", "liver"),
        ("A_S1_L001_R1_001.FASTQ.GZ", "A_S1_L001_R2_001.fastq.gz", "A_S1_L001", "A"),
        ("lib7_read1.fq", "lib7_read2.fq", "lib7", "lib7"),
        # Trim Galore echoes the mate at the end; fastp-like tools add a tag after it.
        ("A_R1_val_1.fq.gz", "A_R2_val_2.fq.gz", "A", "A"),
        ("SRR1_1_val_1.fq.gz", "SRR1_2_val_2.fq.gz", "SRR1", "SRR1"),
        ("A.R1.trimmed.fq.gz", "A.R2.trimmed.fq.gz", "A.trimmed", "A"),
        # CASAVA 1.8: sample_barcode_lane_read_chunk
        (
            "NA1_ATCACG_L002_R1_001.fastq.gz",
            "NA1_ATCACG_L002_R2_001.fastq.gz",
            "NA1_ATCACG_L002",
            "NA1_ATCACG",
        ),
    ],
)
def test_naming_family_pairs_into_one_read_set(mate1, mate2, name, sample):
    read_set = only_read_set(plan(uris(mate2, mate1)))
    assert (read_set.source1, read_set.source2) == (RUN1 + mate1, RUN1 + mate2)
    assert (read_set.name, read_set.sample_id, read_set.subject_id) == (name, sample, sample)
    assert read_set.file_type == "FASTQ"


def test_each_illumina_lane_and_chunk_is_its_own_read_set():
    listing = uris(
        *(f"A_S1_L00{lane}_R{mate}_001.fastq.gz" for lane in (1, 2) for mate in (1, 2)),
        "A_S1_L001_R1_002.fastq.gz",
        "A_S1_L001_R2_002.fastq.gz",
    )
    result = plan(listing)
    assert not result.skipped
    assert sorted(rs.name for rs in result.read_sets) == ["A_S1_L001", "A_S1_L001_002", "A_S1_L002"]
    assert {rs.sample_id for rs in result.read_sets} == {"A"}
    assert len({rs.group_key for rs in result.read_sets}) == 3


def test_fastq_without_mate_token_is_single_end():
    read_set = only_read_set(plan(uris("nanopore_run3.fastq.gz")))
    assert read_set.source2 is None
    assert (read_set.name, read_set.sample_id) == ("nanopore_run3", "nanopore_run3")


@pytest.mark.parametrize(
    ("name", "file_type", "options"),
    [
        ("x.cram", "CRAM", AssemblyOptions()),
        ("x.bam", "BAM", AssemblyOptions()),
        ("x.bam", "UBAM", AssemblyOptions(bam_is_unaligned=True)),
        ("x.unmapped.bam", "UBAM", AssemblyOptions()),
        ("x.unaligned.BAM", "UBAM", AssemblyOptions()),
        ("x.ubam", "UBAM", AssemblyOptions()),
        ("m64011.hifi_reads.bam", "UBAM", AssemblyOptions()),
        ("x.fq", "FASTQ", AssemblyOptions()),
        ("x.FASTQ", "FASTQ", AssemblyOptions()),
    ],
)
def test_file_type_from_extension(name, file_type, options):
    role = classify(RUN1 + name, options=options)
    assert isinstance(role, FileRole)
    assert role.file_type == file_type
    assert role.mate is None


def test_aligned_files_are_named_after_the_file_without_extension():
    result = plan(uris("HG002.GRCh38.cram", "HG002.GRCh38.cram.crai"), reference_arn=REF)
    read_set = result.read_sets[0]
    assert (read_set.name, read_set.sample_id, read_set.reference_arn) == ("HG002.GRCh38",) * 2 + (REF,)
    assert "index file (.cram.crai)" in reasons(result)["HG002.GRCh38.cram.crai"]


def test_same_sample_in_two_folders_makes_two_read_sets():
    listing = uris("A_R1.fastq.gz", "A_R2.fastq.gz") + uris("A_R1.fastq.gz", "A_R2.fastq.gz", folder=RUN2)
    result = plan(listing)
    assert not result.skipped
    assert [(rs.source1, rs.source2) for rs in result.read_sets] == [
        (RUN1 + "A_R1.fastq.gz", RUN1 + "A_R2.fastq.gz"),
        (RUN2 + "A_R1.fastq.gz", RUN2 + "A_R2.fastq.gz"),
    ]
    assert result.read_sets[0].group_key != result.read_sets[1].group_key


def test_mates_in_different_folders_are_not_paired():
    result = plan([RUN1 + "A_R1.fastq.gz", RUN2 + "A_R2.fastq.gz"])
    assert not result.read_sets
    assert "without its R2 mate A_R2.fastq.gz in the same folder" in reasons(result)["A_R1.fastq.gz"]


def test_spaces_and_unicode_in_keys():
    key = "Prøve 7/patient ü 1_R1.fastq.gz"
    event_key = "Pr%C3%B8ve+7/patient+%C3%BC+1_R1.fastq.gz"
    assert decode_s3_event_key(event_key) == key
    result = plan(["s3://bucket/" + key, "s3://bucket/Prøve 7/patient ü 1_R2.fastq.gz"])
    read_set = only_read_set(result)
    assert read_set.sample_id == "patient ü 1"
    assert read_set.group_key == "s3://bucket/Prøve 7/patient ü 1#FASTQ#PAIRED"


# ---------------------------------------------------------------- orphans, duplicates, conflicts


def test_orphan_is_reported_with_the_expected_mate_name():
    result = plan(uris("A_S1_L001_R1_001.fastq.gz"))
    assert not result.read_sets
    reason = reasons(result)["A_S1_L001_R1_001.fastq.gz"]
    assert "R1 without its R2 mate A_S1_L001_R2_001.fastq.gz in the same folder" in reason
    assert "IMPORT_SINGLE" in reason


def test_orphan_r2_names_r1():
    reason = reasons(plan(uris("SRR9_2.fq.gz")))["SRR9_2.fq.gz"]
    assert reason.startswith("R2 without its R1 mate SRR9_1.fq.gz")


def test_orphan_imported_single_end_with_import_single():
    result = plan(uris("A_R2.fastq.gz"), AssemblyOptions(orphan_policy="IMPORT_SINGLE"))
    read_set = only_read_set(result)
    assert (read_set.source1, read_set.source2, read_set.name) == (
        RUN1 + "A_R2.fastq.gz",
        None,
        "A",
    )


def test_orphan_whose_mate_was_skipped_says_why():
    result = plan([(RUN1 + "A_R1.fastq.gz", 10), (RUN1 + "A_R2.fastq.gz", 0)])
    assert "that file was skipped (zero-byte object" in reasons(result)["A_R1.fastq.gz"]


def test_uri_listed_twice_appears_once():
    listing = uris("A_R1.fastq.gz", "A_R2.fastq.gz", "A_R1.fastq.gz", "notes.txt", "notes.txt")
    result = plan(listing)
    assert len(result.read_sets) == 1
    assert [skip.uri for skip in result.skipped] == [RUN1 + "notes.txt"]


def test_first_listed_size_wins_for_a_uri_listed_twice():
    first_empty = plan([(RUN1 + "a.fq", 0), (RUN1 + "a.fq", 10)])
    assert "zero-byte" in reasons(first_empty)["a.fq"]
    first_full = plan([(RUN1 + "a.fq", 10), (RUN1 + "a.fq", 0)])
    assert only_read_set(first_full).source1 == RUN1 + "a.fq"


def test_two_read_sets_never_share_a_group_key():
    # The sheet's read set is keyed by its file "a.fq"; "a.fq.fq" is named "a.fq" by its name.
    sheet = SampleSheet.parse(f"source1,source2,subject_id,sample_id\n{RUN1}a.fq,,P,S\n")
    result = plan(uris("a.fq", "a.fq.fq"), sample_sheet=sheet)
    assert not result.read_sets
    for reason in reasons(result).values():
        assert reason.startswith("conflict: another read set has the same id")
    assert {skip.code for skip in result.skipped} == {SkipCode.CONFLICT}


@pytest.mark.parametrize(
    "names",
    [
        ["A_R1.fastq.gz", "A_R1.fq.gz", "A_R2.fastq.gz"],
        ["A_R1.fastq.gz", "A_R1.fq.gz"],
        ["A.fastq.gz", "A.fq.gz"],
        ["A_S1_L001_R1_001.fastq.gz", "A_S1_L001_r1_001.fastq.gz"],
    ],
)
def test_conflicting_files_are_all_skipped_never_guessed(names):
    result = plan(uris(*names))
    assert not result.read_sets
    assert set(reasons(result)) == set(names)
    for reason in reasons(result).values():
        assert reason.startswith("conflict:")
        assert "rename" in reason


def test_split3_sra_layout_gives_a_pair_and_a_single():
    result = plan(uris("SRR1_1.fastq", "SRR1_2.fastq", "SRR1.fastq"))
    assert not result.skipped
    assert sorted((rs.source1.rpartition("/")[2], rs.source2 is None) for rs in result.read_sets) == [
        ("SRR1.fastq", True),
        ("SRR1_1.fastq", False),
    ]


# ---------------------------------------------------------------- skipped files


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("x.bam.bai", "index file (.bam.bai)"),
        ("x.bai", "index file (.bai)"),
        ("x.cram.crai", "index file (.cram.crai)"),
        ("x.vcf.gz.tbi", "index file (.tbi)"),
        ("ref.fa.fai", "index file (.fai)"),
        ("ref.dict", "index file (.dict)"),
        ("x.fastq.gz.md5", "checksum file (.md5)"),
        ("x.bam.sha256", "checksum file (.sha256)"),
        ("GRCh38.fa", "reference FASTA (.fa)"),
        ("GRCh38.fasta.gz", "reference FASTA (.fasta.gz)"),
        ("hg19.fna", "reference FASTA (.fna)"),
        ("A_R1.fastq.bz2", "recompress it with gzip"),
        ("A_R1.fq.zst", "recompress it with gzip"),
        ("A_R1.fastq.ora", "recompress it with gzip"),
        ("x.sam", "samtools view -b"),
        ("calls.g.vcf.gz", "variant store"),
        ("reads.fast5", "basecall"),
        ("SampleSheet.csv", "not a sequence file (.csv)"),
        ("mystery.xyz", "unknown file type (.xyz)"),
        ("README", "unknown file type (no extension)"),
        ("A_S1_L001_I1_001.fastq.gz", "index read (I1/I2)"),
        ("A_S1_I2_001.fastq.gz", "index read (I1/I2)"),
        ("A_I1.fastq.gz", "index read (I1/I2)"),
        ("A_S1_L001_R3_001.fastq.gz", "at most two reads"),
        ("Undetermined_S0_L001_R1_001.fastq.gz", "include_undetermined"),
        ("undetermined.fastq.gz", "include_undetermined"),
        ("._A_R1.fastq.gz", "macOS resource-fork"),
        (".fastq.gz", "no name"),
        ("sub/", "folder marker"),
        ("logs_$folder$", "folder marker"),
    ],
)
def test_skip_reasons(name, fragment):
    result = classify(RUN1 + name)
    assert isinstance(result, Skip)
    assert fragment in result.reason


def test_zero_byte_object_is_skipped_but_unknown_size_is_not():
    assert "zero-byte" in classify(RUN1 + "A.fastq.gz", size=0).reason
    assert isinstance(classify(RUN1 + "A.fastq.gz", size=None), FileRole)


@pytest.mark.parametrize(
    ("uri", "fragment"),
    [
        ("https://bucket/A.fastq.gz", "not an s3://bucket/key URI"),
        ("s3://My_Bucket/A.fastq.gz", "bucket name 'My_Bucket'"),
        ("s3://bucket/dir\n/A.fastq.gz", "line break"),
    ],
)
def test_uris_healthomics_cannot_read_are_skipped(uri, fragment):
    assert fragment in classify(uri).reason


def test_undetermined_reads_imported_when_asked():
    listing = uris("Undetermined_S0_L001_R1_001.fastq.gz", "Undetermined_S0_L001_R2_001.fastq.gz")
    read_set = only_read_set(plan(listing, AssemblyOptions(include_undetermined=True)))
    assert (read_set.name, read_set.sample_id) == ("Undetermined_S0_L001", "Undetermined")


def test_bam_and_cram_need_a_reference_ubam_does_not():
    result = plan(uris("a.bam", "b.cram", "c.unmapped.bam"))
    assert [rs.file_type for rs in result.read_sets] == ["UBAM"]
    assert result.read_sets[0].reference_arn is None
    for name in ("a.bam", "b.cram"):
        assert "needs a reference genome: give OmicsAutoLoad a reference" in reasons(result)[name]
    assert "bam_is_unaligned" in reasons(result)["a.bam"]


def test_reference_is_only_attached_to_aligned_read_sets():
    result = plan(uris("a.bam", "c.unmapped.bam", "x_R1.fq", "x_R2.fq"), reference_arn=REF)
    by_type = {rs.file_type: rs for rs in result.read_sets}
    assert by_type["BAM"].to_import_source()["referenceArn"] == REF
    assert "referenceArn" not in by_type["UBAM"].to_import_source()
    assert "referenceArn" not in by_type["FASTQ"].to_import_source()


def test_invalid_reference_arn_is_a_skip_reason():
    reason = reasons(plan(uris("a.bam"), reference_arn="arn:" + "x" * 200))["a.bam"]
    assert "referenceArn" in reason
    assert "1 to 127" in reason


# ---------------------------------------------------------------- skip codes


@pytest.mark.parametrize(
    ("listing", "expected"),
    [
        (["run/"], {"run/": SkipCode.FOLDER}),
        (["empty.fq"], {"empty.fq": SkipCode.EMPTY}),
        (["a.xyz"], {"a.xyz": SkipCode.UNKNOWN_TYPE}),
        (["a.fastq.bz2"], {"a.fastq.bz2": SkipCode.COMPRESSION}),
        (["a.bam.bai"], {"a.bam.bai": SkipCode.INDEX_FILE}),
        (["a.fq.md5"], {"a.fq.md5": SkipCode.CHECKSUM}),
        (["GRCh38.fa"], {"GRCh38.fa": SkipCode.REFERENCE_FASTA}),
        (["notes.txt"], {"notes.txt": SkipCode.NOT_SEQUENCE}),
        (["a.sam"], {"a.sam": SkipCode.OTHER}),
        (["._a.fq"], {"._a.fq": SkipCode.OTHER}),
        (["A_S1_L001_I1_001.fastq.gz"], {"A_S1_L001_I1_001.fastq.gz": SkipCode.INDEX_READ}),
        (["A_S1_L001_R3_001.fastq.gz"], {"A_S1_L001_R3_001.fastq.gz": SkipCode.EXTRA_READ}),
        (["Undetermined_S0_R1_001.fastq.gz"], {"Undetermined_S0_R1_001.fastq.gz": SkipCode.UNDETERMINED}),
        (["A_R1.fq"], {"A_R1.fq": SkipCode.ORPHAN}),
        (["A_R1.fq", "A_R1.fastq"], {"A_R1.fq": SkipCode.CONFLICT, "A_R1.fastq": SkipCode.CONFLICT}),
        (["A_R1.fq", "A_R2.fq", "A_R1.fq.gz"], dict.fromkeys(["A_R1.fq", "A_R2.fq", "A_R1.fq.gz"], SkipCode.CONFLICT)),
        (["a.bam"], {"a.bam": SkipCode.OTHER}),  # needs a reference: a validation problem
    ],
)
def test_every_skip_carries_the_code_of_its_reason(listing, expected):
    objects = [(uri, 0 if uri.endswith("empty.fq") else None) for uri in uris(*listing)]
    skipped = {skip.uri.rpartition(RUN1)[2]: skip.code for skip in plan(objects).skipped}
    assert skipped == expected


def test_sample_sheet_skips_keep_the_code_of_the_file_they_name():
    sheet = SampleSheet.parse(f"source1,source2,subject_id,sample_id\n{RUN1}a.fq.md5,{RUN1}b.fq,P,S\n")
    codes = {skip.uri: skip.code for skip in plan(uris("a.fq.md5", "b.fq"), sample_sheet=sheet).skipped}
    assert codes == {RUN1 + "a.fq.md5": SkipCode.CHECKSUM, RUN1 + "b.fq": SkipCode.CHECKSUM}


# ---------------------------------------------------------------- user patterns and metadata


def test_user_pattern_with_named_groups_wins_over_builtins():
    options = AssemblyOptions(read_set_patterns=(r"(?P<subject>P\d+)-(?P<sample>T\d+)-(?P<lane>\d)-(?P<mate>[12])",))
    result = plan(uris("P01-T07-3-1.fq.gz", "P01-T07-3-2.fq.gz"), options)
    read_set = only_read_set(result)
    assert (read_set.subject_id, read_set.sample_id, read_set.name) == ("P01", "T07", "T07_L3")


def test_user_pattern_matches_full_name_and_can_set_the_name():
    options = AssemblyOptions(read_set_patterns=(r"run(?P<name>\d+)_(?P<sample>[^_]+)_R(?P<mate>[12])\.fq",))
    read_set = only_read_set(plan(uris("run42_liver_R1.fq", "run42_liver_R2.fq"), options))
    assert (read_set.name, read_set.sample_id) == ("42", "liver")


def test_user_pattern_that_does_not_match_falls_back_to_builtins():
    options = AssemblyOptions(read_set_patterns=(r"(?P<sample>ZZZ\d+)",))
    read_set = only_read_set(plan(uris("A_R1.fq", "A_R2.fq"), options))
    assert read_set.sample_id == "A"


def test_user_pattern_with_a_bad_mate_value_is_a_skip():
    options = AssemblyOptions(read_set_patterns=(r"(?P<sample>.+)_(?P<mate>\w)",))
    reason = classify(RUN1 + "A_x.fq", options=options).reason
    assert "captured mate 'x'" in reason


def test_problems_lists_every_invalid_option_at_once():
    options = AssemblyOptions(
        read_set_patterns=("(unclosed", r"(?P<mate>[12])"),
        orphan_policy="DROP",
        max_sources_per_job=101,
    )
    problems = options.problems()
    assert len(problems) == 4
    assert "not a valid regular expression" in problems[0]
    assert "no (?P<sample>...) group" in problems[1]
    assert "orphan_policy 'DROP'" in problems[2]
    assert "max_sources_per_job" in problems[3]
    with pytest.raises(ValueError, match="orphan_policy"):
        classify(RUN1 + "A.fq", options=options)
    with pytest.raises(ValueError, match="max_sources_per_job"):
        plan([], options)


@pytest.mark.parametrize("value", [0, True, "5", 100.0])
def test_max_sources_must_be_an_int_in_range(value):
    assert AssemblyOptions(max_sources_per_job=value).problems()


def test_patterns_given_as_one_string_are_a_problem():
    assert "list of regular expressions" in AssemblyOptions(read_set_patterns="(?P<sample>.+)").problems()[0]


def test_options_json_round_trip():
    options = AssemblyOptions(
        read_set_patterns=[r"(?P<sample>.+)_(?P<mate>[12])"],
        include_undetermined=True,
        orphan_policy="IMPORT_SINGLE",
        bam_is_unaligned=True,
        max_sources_per_job=7,
    )
    assert options.read_set_patterns == (r"(?P<sample>.+)_(?P<mate>[12])",)
    assert AssemblyOptions.from_json(options.to_json()) == options
    assert AssemblyOptions.from_json("{}") == AssemblyOptions()
    with pytest.raises(ValueError, match="unknown AssemblyOptions keys"):
        AssemblyOptions.from_json('{"orphanPolicy": "REPORT"}')


def test_metadata_precedence_pattern_then_tags_then_sheet():
    options = AssemblyOptions(read_set_patterns=(r"(?P<sample>[^_]+)_(?P<mate>[12])",))
    listing = uris("p7_1.fq", "p7_2.fq")
    assert only_read_set(plan(listing, options)).sample_id == "p7"

    tags = {RUN1 + "p7_1.fq": {"SampleId": "from-tag", "description": "tagged"}}
    tagged = only_read_set(plan(listing, options, tags=tags))
    assert (tagged.sample_id, tagged.subject_id, tagged.description) == (
        "from-tag",
        "from-tag",
        "tagged",
    )

    sheet = SampleSheet.parse(f"source1,source2,subject_id,sample_id\n{RUN1}p7_1.fq,{RUN1}p7_2.fq,subj,from-sheet\n")
    sheeted = only_read_set(plan(listing, options, tags=tags, sample_sheet=sheet))
    assert (sheeted.sample_id, sheeted.subject_id, sheeted.description) == (
        "from-sheet",
        "subj",
        "tagged",
    )


def test_tag_keys_accepted():
    tags = {
        "SubjectId": " P1 ",
        "sample-id": "S1",
        "Name": "n",
        "generated_from": "lab",
        "Description": "",
        "owner": "x",
    }
    assert overrides_from_tags(tags) == {
        "subject_id": "P1",
        "sample_id": "S1",
        "name": "n",
        "generated_from": "lab",
    }


def test_source1_tags_win_over_source2_tags():
    tags = {
        RUN1 + "A_R1.fq": {"SampleId": "one"},
        RUN1 + "A_R2.fq": {"SampleId": "two", "Name": "n2"},
    }
    read_set = only_read_set(plan(uris("A_R2.fq", "A_R1.fq"), tags=tags))
    assert (read_set.sample_id, read_set.name) == ("one", "n2")


# ---------------------------------------------------------------- sample sheets in plans


def test_sheet_pairs_files_names_would_not_pair():
    sheet = SampleSheet.parse(
        "source1,source2,subject_id,sample_id,name,generated_from\n"
        "tumor_lane_a.fq.gz,tumor_lane_b.fq.gz,PAT-1,TUM-1,tumor run 1,lab 3\n",
        base_uri=RUN1 + "samples.csv",
    )
    result = plan(uris("tumor_lane_a.fq.gz", "tumor_lane_b.fq.gz", "samples.csv"), sample_sheet=sheet)
    assert len(result.read_sets) == 1
    read_set = result.read_sets[0]
    assert (read_set.source1, read_set.source2) == (
        RUN1 + "tumor_lane_a.fq.gz",
        RUN1 + "tumor_lane_b.fq.gz",
    )
    assert (read_set.subject_id, read_set.sample_id, read_set.name) == (
        "PAT-1",
        "TUM-1",
        "tumor run 1",
    )
    assert read_set.generated_from == "lab 3"
    assert list(reasons(result)) == ["samples.csv"]


def test_sheet_wins_over_name_pairing_and_orphans_explain_it():
    sheet = SampleSheet.parse(f"source1,source2,subject_id,sample_id\n{RUN1}A_R1.fq,,P,S\n")
    result = plan(uris("A_R1.fq", "A_R2.fq"), sample_sheet=sheet)
    assert [(rs.source1, rs.source2) for rs in result.read_sets] == [(RUN1 + "A_R1.fq", None)]
    assert "used by sample sheet line 2" in reasons(result)["A_R2.fq"]


def test_sheet_can_import_a_file_the_name_rules_skip():
    sheet = SampleSheet.parse(
        f"source1,source2,subject_id,sample_id\n{RUN1}Undetermined_S0_R1_001.fastq.gz,,lab,undet\n"
    )
    result = plan(uris("Undetermined_S0_R1_001.fastq.gz"), sample_sheet=sheet)
    assert only_read_set(result).sample_id == "undet"


def test_sheet_row_with_missing_file_is_a_warning_and_its_partner_a_skip():
    sheet = SampleSheet.parse(f"source1,source2,subject_id,sample_id\n{RUN1}a.fq,{RUN1}b.fq,P,S\n{RUN1}gone.fq,,P,S2\n")
    result = plan(uris("a.fq"), sample_sheet=sheet)
    assert not result.read_sets
    assert "sample sheet line 2 pairs it with b.fq, which is not in the listing" in reasons(result)["a.fq"]
    assert len(result.warnings) == 2
    assert "line 2" in result.warnings[0] and "b.fq" in result.warnings[0]
    assert "line 3" in result.warnings[1] and "gone.fq" in result.warnings[1]


def test_sheet_cannot_pair_two_bams():
    sheet = SampleSheet.parse(f"source1,source2,subject_id,sample_id\n{RUN1}a.bam,{RUN1}b.bam,P,S\n")
    result = plan(uris("a.bam", "b.bam"), sample_sheet=sheet, reference_arn=REF)
    assert "only FASTQ files can be paired" in reasons(result)["a.bam"]


def test_sheet_row_with_an_unusable_file_skips_both():
    sheet = SampleSheet.parse(f"source1,source2,subject_id,sample_id\n{RUN1}a.fq,{RUN1}a.fq.md5,P,S\n")
    result = plan(uris("a.fq", "a.fq.md5"), sample_sheet=sheet)
    assert "checksum file" in reasons(result)["a.fq"]
    assert "sample sheet line 2" in reasons(result)["a.fq"]


# ---------------------------------------------------------------- batches


def _read_sets(count):
    return [ReadSet("FASTQ", f"{RUN1}{n}.fq", None, "s", "s", str(n), str(n)) for n in range(count)]


def test_batches_keep_order_and_cap_size():
    read_sets = _read_sets(250)
    jobs = batches(read_sets, 100)
    assert [len(job) for job in jobs] == [100, 100, 50]
    assert [rs for job in jobs for rs in job] == read_sets
    assert batches([], 10) == []
    assert [len(job) for job in batches(read_sets[:3], 1)] == [1, 1, 1]


@pytest.mark.parametrize("bad", [0, 101, -1, True])
def test_batches_reject_sizes_healthomics_refuses(bad):
    with pytest.raises(ValueError, match="1 to 100"):
        batches(_read_sets(3), bad)


# ---------------------------------------------------------------- properties

FOLDERS = st.sampled_from(["s3://bucket/run1/", "s3://bucket/run2/deep/er/", "s3://other.bucket/"])
SAMPLES = st.one_of(
    st.sampled_from(["A", "NA12878", "SRR123", "my sample", "ü", "Undetermined", "x_1", "P_R1"]),
    st.text(
        st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="/"),
        min_size=1,
        max_size=6,
    ),
)
MATE_FORMS = [
    "{s}_S1_L001_R1_001.fastq.gz",
    "{s}_S1_R2_001.fastq.gz",
    "{s}_R1.fq.gz",
    "{s}_r2.fq",
    "{s}.R1.fastq",
    "{s}_1.fastq.gz",
    "{s}_2.fq.gz",
    "{s}_R1_val_1.fq.gz",
    "{s}_READ2.fastq",
]
FORMS = st.sampled_from(
    [
        *MATE_FORMS,
        "{s}_S1_L001_R2_001.fastq.gz",
        "{s}_R2.fq.gz",
        "{s}.fastq.gz",
        "{s}.fq.gz",
        "{s}.bam",
        "{s}.bam.bai",
        "{s}.cram",
        "{s}.unmapped.bam",
        "{s}_S1_L001_I1_001.fastq.gz",
        "{s}.md5",
        "{s}/",
        "{s}.fastq.bz2",
        "{s}",
    ]
)
PAIRS = st.sampled_from(
    [
        ("{s}_S1_L001_R1_001.fastq.gz", "{s}_S1_L001_R2_001.fastq.gz"),
        ("{s}_R1.fq.gz", "{s}_R2.fq.gz"),
        ("{s}_1.fastq", "{s}_2.fastq"),
        ("{s}.R1.fq", "{s}.r2.FQ"),
    ]
)
SIZES = st.one_of(st.none(), st.integers(0, 3))


@st.composite
def _listed(draw):
    """One file, or both mates of a pair (so that pairing, not only skipping, is exercised)."""
    folder, sample = draw(FOLDERS), draw(SAMPLES)
    forms = draw(st.one_of(FORMS.map(lambda form: (form,)), PAIRS))
    return [(folder + form.format(s=sample), draw(SIZES)) for form in forms]


OBJECTS = st.lists(_listed(), max_size=25).map(lambda groups: [item for group in groups for item in group])
OPTIONS = st.builds(
    AssemblyOptions,
    include_undetermined=st.booleans(),
    orphan_policy=st.sampled_from(["REPORT", "IMPORT_SINGLE"]),
    bam_is_unaligned=st.booleans(),
)


def _sheet_for(objects, shape):
    """A sheet pairing the first two listed files and naming the third alone (or nothing)."""
    distinct = list(dict.fromkeys(uri for uri, _ in objects if not uri.endswith("/")))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["source1", "source2", "subject_id", "sample_id"])
    if shape and len(distinct) >= 3:
        writer.writerow([distinct[0], distinct[1], "P", "S"])
        writer.writerow([distinct[2], "", "P", "S2"])
    return SampleSheet.parse(buffer.getvalue())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    objects=OBJECTS,
    options=OPTIONS,
    reference=st.sampled_from([None, REF]),
    with_sheet=st.booleans(),
)
def test_every_listed_uri_appears_exactly_once(objects, options, reference, with_sheet):
    sheet = _sheet_for(objects, with_sheet)
    result = plan(objects, options, reference_arn=reference, sample_sheet=sheet)
    placed = [uri for rs in result.read_sets for uri in rs.sources] + [skip.uri for skip in result.skipped]
    assert sorted(placed) == sorted({uri for uri, _ in objects})
    assert len({rs.group_key for rs in result.read_sets}) == len(result.read_sets)
    for read_set in result.read_sets:
        assert validate(read_set) == []
        if read_set.source2 is not None:
            assert read_set.file_type == "FASTQ"
    for skip in result.skipped:
        assert skip.reason.strip()
        assert isinstance(skip.code, SkipCode)


@settings(max_examples=300, deadline=None)
@given(folder=FOLDERS, sample=SAMPLES, form=st.sampled_from(MATE_FORMS))
def test_a_mate_and_its_expected_partner_share_one_read_set(folder, sample, form):
    role = classify(folder + form.format(s=sample))
    assume(isinstance(role, FileRole) and role.mate is not None)
    partner = classify(role.partner_uri)
    assert isinstance(partner, FileRole)
    assert (partner.group_key, partner.mate) == (role.group_key, 3 - role.mate)
    assert partner.partner_uri == role.uri


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60), st.one_of(st.none(), st.integers(-1, 5)))
def test_classify_never_raises(text, size):
    for uri in (text, "s3://bucket/" + text):
        assert isinstance(classify(uri, size=size), FileRole | Skip)


# ---------------------------------------------------------------- long reads and headers


def test_nanopore_chunks_are_single_end_read_sets_never_mates():
    names = [f"PAK12345_pass_barcode01_7f3c9a2b_5d1e0c44_{n}.fastq.gz" for n in (0, 1, 2)]
    result = plan(uris(*names, "FAT98765_pass_1a2b3c4d_1.fastq.gz", "FAT98765_pass_1a2b3c4d_2.fastq.gz"))
    assert not result.skipped
    assert (
        sorted((rs.source2, rs.sample_id) for rs in result.read_sets)
        == [(None, "FAT98765")] * 2 + [(None, "barcode01")] * 3
    )
    assert len({rs.name for rs in result.read_sets}) == 5


@pytest.mark.parametrize(
    "name", ["m84011_220902_175841_s1.hifi_reads.bam", "m84011_s1.reads.bam", "m54006.subreads.bam", "m64.ccs.bam"]
)
def test_pacbio_unaligned_bams_by_name(name):
    assert plan(uris(name)).read_sets[0].file_type == "UBAM"


def test_headers_make_a_bam_unaligned_and_name_the_sample():
    headers = {
        RUN1 + "HG002.sorted.dedup.bam": HeaderFacts(FileType.BAM, "HG002"),
        RUN1 + "movie.bam": HeaderFacts(FileType.UBAM, "NA24385"),
        RUN1 + "HG003.cram": HeaderFacts(FileType.CRAM, None),  # no or several samples: the name
    }
    result = plan(list(headers), reference_arn=REF, headers=headers)
    found = {rs.source1.rpartition("/")[2]: (rs.file_type, rs.sample_id, rs.subject_id) for rs in result.read_sets}
    assert found == {
        "HG002.sorted.dedup.bam": ("BAM", "HG002", "HG002"),
        "movie.bam": ("UBAM", "NA24385", "NA24385"),
        "HG003.cram": ("CRAM", "HG003", "HG003"),
    }
    by_name = plan(list(headers), AssemblyOptions(sample_from_header=False), reference_arn=REF, headers=headers)
    assert {rs.sample_id for rs in by_name.read_sets} == {"HG002.sorted.dedup", "movie", "HG003"}
