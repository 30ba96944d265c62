"""Pure domain logic, standard library only and no AWS calls.

The intake and import-start steps and the ``omics-autoload plan`` CLI all use these
modules, so a dry run makes the decisions the pipeline makes. Each module imports only
the ones above it in this list (and ``contract``):

* ``limits``: HealthOmics API limits, pinned to the botocore model by a test;
* ``options``: ``AssemblyOptions``, the user's choices;
* ``s3_uri``: decode event keys, split URIs, check them against the HealthOmics pattern;
* ``sample_sheet``: CSV rows that pair files and set metadata explicitly;
* ``illumina_sheet``: the instrument's ``SampleSheet.csv`` (v1, v2) sets a run's metadata;
* ``file_types``: the extension decides the file type, or why the file is skipped;
* ``file_names``: the name gives sample, mate and read-set name (built-ins, user patterns);
* ``bam_header``: whether a ``.bam`` is aligned, and a BAM's/CRAM's ``@RG SM:``, from its first bytes;
* ``classify``: one object -> ``FileRole`` or ``Skip`` (every Skip has its ``SkipCode``);
* ``read_sets``: ``ReadSet`` (one import source) and metadata overrides from tags and sheets;
* ``validation``: every HealthOmics limit a read set breaks, as sentences;
* ``pairing``: ``assemble`` the files of one group into one read set, or skip them all;
* ``planning``: ``plan`` a whole listing, and split read sets into import jobs (``batches``).
"""
