"""Source of truth for setup.py, the requirements files and the projen tasks.

Run `python .projenrc.py` (with PROJEN_DISABLE_POST=1 to skip projen's pip install)
after changing anything here, and commit what it writes.
"""

from projen.python import PythonProject

# The versions the library is tested against. Ranges for users, exact pins for us.
AWS_CDK_LIB = "2.275.0"
CONSTRUCTS = "10.8.1"

# The runtime package and its layers (lambda/omics_autoload_runtime/*/).
RUNTIME_PACKAGES = [
    "omics_autoload_runtime",
    *(f"omics_autoload_runtime.{layer}" for layer in ("domain", "adapters", "logic", "handlers", "cli")),
]

DEV_DEPS = [
    "boto3@1.44.5",
    "botocore@1.44.8",
    "build@1.6.1",
    "cdk-nag@3.0.2",
    "cfn-lint@1.58.0",
    "hypothesis@6.170.17",
    "moto[cloudwatch,dynamodb,dynamodbstreams,events,s3,sqs,ssm,stepfunctions]@5.2.5",
    "mypy@2.4.1",
    "policy-sentry@0.15.2",
    "pydoc-markdown@4.8.2",
    "pytest@9.2.0",
    "pytest-xdist@3.8.0",
    "regex@2026.11.19",
    "ruff@0.17.6",
    "setuptools@80.9.0",
    "twine@7.0.0",
    "wheel@0.48.0",
]

project = PythonProject(
    name="omics-autoload-construct",
    module_name="omics_autoload_construct",
    version="0.1.0",
    description=(
        "AWS CDK construct: automatic, monitored, secure import of FASTQ/BAM/CRAM/uBAM "
        "files from Amazon S3 into AWS HealthOmics read sets"
    ),
    author_name="omics-autoload-construct developers",
    author_email="omics-autoload-construct@users.noreply.github.com",
    license="Apache-2.0",
    setuptools=True,
    venv=True,
    venv_options={"envdir": ".venv"},
    pytest=False,  # tests run through scripts/run-tests (README contract)
    sample=False,
    github=False,  # the release workflow is hand-written: .github/workflows/release.yml
    readme={"filename": "README.md"},
    deps=[
        f"aws-cdk-lib@^{AWS_CDK_LIB}",
        f"constructs@^{CONSTRUCTS}",
    ],
    dev_deps=[
        f"aws-cdk-lib@{AWS_CDK_LIB}",
        f"constructs@{CONSTRUCTS}",
        *DEV_DEPS,
    ],
    setup_config={
        "python_requires": ">=3.11",
        "long_description_content_type": "text/markdown",
        "license": "Apache-2.0",
        "url": "https://github.com/omics-autoload-construct/omics-autoload-construct",
        "package_dir": {
            "": "src",
            # Handler code lives in lambda/ and ships as its own package: the Lambda
            # asset, the CLI and the tests all import the same module.
            "omics_autoload_runtime": "lambda/omics_autoload_runtime",
        },
        "packages": ["omics_autoload_construct", *RUNTIME_PACKAGES],
        "package_data": {"omics_autoload_construct": ["py.typed"]},
        "install_requires": [
            f"aws-cdk-lib>={AWS_CDK_LIB},<3.0.0",
            f"constructs>={CONSTRUCTS},<11.0.0",
        ],
        "entry_points": {
            "console_scripts": ["omics-autoload=omics_autoload_runtime.cli.main:main"],
        },
        "classifiers": [
            "Programming Language :: Python :: 3 :: Only",
            "Programming Language :: Python :: 3.11",
            "Programming Language :: Python :: 3.12",
            "Framework :: AWS CDK :: 2",
            "Topic :: Scientific/Engineering :: Bio-Informatics",
            "License :: OSI Approved :: Apache Software License",
        ],
    },
)

# projen pins twine 3.3.0 and wheel 0.36.2, which cannot handle Metadata 2.4 wheels.
project.deps.remove_dependency("twine")
project.deps.remove_dependency("wheel")
project.add_dev_dependency("twine@7.0.0")
project.add_dev_dependency("wheel@0.48.0")

project.gitignore.exclude(
    "cdk.out/", "examples/cdk.out/", "node_modules/", "dist/", ".mypy_cache/", ".ruff_cache/",
    "benchmarks/results/",
)

project.tasks.try_find("package").reset("python -m build --sdist --wheel --outdir dist/python .")
project.tasks.try_find("test").reset("bash scripts/run-tests")
project.add_task("docs", exec="bash scripts/gen-api-docs")
project.add_task("example", exec="bash scripts/run-example")
project.add_task(
    "release:dry-run",
    description="Build sdist + wheel into dist/python and check them, as the release workflow does",
    exec="bash scripts/release-dry-run",
)
publish = project.tasks.try_find("publish")
publish.reset("npx -p publib@0.2.1061 publib-pypi dist/python")
project.tasks.remove_task("publish:test")

project.synth()
