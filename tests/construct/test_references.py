"""OmicsAutoLoad with several references: GRCh38 imported here, GRCh37 brought by its parameter.

One synthesized stack: the functions carry the reference set (names, where each ARN is,
declared contigs, key rules), and the policies, evaluated as IAM would, let the import
start function read exactly those references' parameters and nothing else read them.
"""

from __future__ import annotations

import functools
import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from omics_autoload_runtime.contract import Env
from omics_autoload_runtime.domain.references import ReferenceSet
from omics_autoload_runtime.settings import Settings
from support.iam_eval import ACCOUNT, REGION, Request, Template
from support.synth import REFERENCE_ARN, resources_of_type

from omics_autoload_construct import Contigs, OmicsAutoLoad, ReferenceGenome, ReferenceStore

GRCH37_PARAMETER = "/core/references/grch37"


@functools.cache
def two_references() -> dict:
    app = cdk.App()
    stack = cdk.Stack(app, "Core", env=cdk.Environment(account=ACCOUNT, region=REGION))
    fasta = s3.Bucket(stack, "Fasta")
    grch38 = ReferenceGenome(
        stack,
        "GRCh38",
        fasta_bucket=fasta,
        fasta_key="references/Homo_sapiens_assembly38.fasta",
        reference_store=ReferenceStore.from_reference_store_id(stack, "Refs", "1234567890"),
        contigs=Contigs.GRCH38,
    )
    OmicsAutoLoad(
        stack,
        "AutoLoad",
        references={
            "GRCh38": grch38,
            "GRCh37": ReferenceGenome.from_parameter_name(stack, "GRCh37", GRCH37_PARAMETER, contigs=Contigs.GRCH37),
        },
        reference_rules={"legacy/*": "GRCh37"},
        dashboard=False,
    )
    return app.synth().get_stack_by_name("Core").template


def _functions(template: dict) -> dict[str, dict]:
    return {
        logical_id: f
        for logical_id, f in resources_of_type(template, "AWS::Lambda::Function").items()
        if f["Properties"]["Handler"].startswith("omics_autoload_runtime.handlers.")
        and ".reference_provider." not in f["Properties"]["Handler"]
    }


def _start_function(template: dict) -> str:
    (found,) = [
        k for k, f in _functions(template).items() if f["Properties"]["Handler"].endswith("import_start.handler")
    ]
    return found


def test_the_functions_carry_both_references_their_contigs_and_the_rule():
    template = two_references()
    evaluator = Template(template)
    environment = evaluator.resolve(template["Resources"][_start_function(template)]["Properties"]["Environment"])
    settings = Settings.from_environment(environment["Variables"])
    chosen = settings.reference_set()
    assert [r.name for r in chosen.references] == ["GRCh38", "GRCh37"]
    grch38, grch37 = chosen.references
    (parameter,) = [p for p in resources_of_type(template, "AWS::SSM::Parameter").values() if "GRCh38" in json.dumps(p)]
    assert grch38.parameter_name == evaluator.resolve(parameter["Properties"]["Name"])
    assert grch38.contigs["chr1"] == 248956422 and grch37.contigs["1"] == 249250621
    assert grch37.parameter_name == GRCH37_PARAMETER
    assert [(r.pattern, r.reference) for r in chosen.rules] == [("legacy/*", "GRCh37")]


def test_every_function_environment_stays_under_the_lambda_limit_with_two_full_contig_sets():
    # Lambda refuses environments over 4 KB (all variables together).
    for logical_id, function in _functions(two_references()).items():
        variables = Template(two_references()).resolve(function["Properties"]["Environment"]["Variables"])
        size = sum(len(k) + len(str(v)) for k, v in variables.items())
        assert size < 4096, (logical_id, size)


def test_only_the_start_function_may_read_the_references_parameters():
    template = two_references()
    evaluator = Template(template)
    (parameter,) = [p for p in resources_of_type(template, "AWS::SSM::Parameter").values() if "GRCh38" in json.dumps(p)]
    grch38 = evaluator.resolve(parameter["Properties"]["Name"])
    arn = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter"

    def may_read(function: str, name: str) -> bool:
        role = evaluator.function_role(function)
        return evaluator.decide(Request(role, "ssm:GetParameter", f"{arn}{name}")) is None

    start = _start_function(template)
    assert may_read(start, grch38) and may_read(start, GRCH37_PARAMETER)
    assert not may_read(start, "/core/references/other")
    for other in set(_functions(template)) - {start}:
        assert not may_read(other, grch38) and not may_read(other, GRCH37_PARAMETER), other


def test_reference_props_are_checked_with_a_message_that_names_the_fix():
    stack = cdk.Stack(cdk.App(), "Bad")
    with pytest.raises(ValueError) as raised:
        OmicsAutoLoad(
            stack,
            "AutoLoad",
            references={"GRCh38": REFERENCE_ARN, "bad name": "arn:aws:s3:::bucket/key"},
            reference_rules={"legacy/*": "GRCh37"},
            default_reference="T2T",
            dashboard=False,
        )
    message = str(raised.value)
    assert "references key 'bad name'" in message
    assert "must be a ReferenceGenome or a reference ARN" in message
    with pytest.raises(ValueError, match="reference_rules name references of the references prop"):
        OmicsAutoLoad(cdk.Stack(cdk.App(), "Rules"), "A", reference_rules={"a/*": "x"}, dashboard=False)
    with pytest.raises(ValueError, match="'GRCh37', not one of"):
        OmicsAutoLoad(
            cdk.Stack(cdk.App(), "Unknown"),
            "A",
            references={"GRCh38": REFERENCE_ARN},
            reference_rules={"legacy/*": "GRCh37"},
            dashboard=False,
        )
    many_stack = cdk.Stack(cdk.App(), "Many")
    many = {
        f"T{n}": ReferenceGenome.from_reference_arn(many_stack, f"T{n}", REFERENCE_ARN, contigs=Contigs.GRCH38)
        for n in range(6)
    }
    with pytest.raises(ValueError, match="declare fewer contigs per reference"):
        OmicsAutoLoad(many_stack, "A", references=many, dashboard=False)
    with pytest.raises(ValueError, match="contigs\\['chr1'\\] must be a length"):
        ReferenceGenome.from_reference_arn(cdk.Stack(cdk.App(), "C"), "R", REFERENCE_ARN, contigs={"chr1": 0})


def test_the_single_reference_alone_sets_no_reference_set_and_becomes_the_default_beside_others():
    alone = cdk.Stack(cdk.App(), "Alone")
    OmicsAutoLoad(alone, "AutoLoad", reference_arn=REFERENCE_ARN, dashboard=False)
    template = cdk.assertions.Template.from_stack(alone).to_json()
    variables = template["Resources"][_start_function(template)]["Properties"]["Environment"]["Variables"]
    assert variables[Env.REFERENCES] == "{}" and variables[Env.REFERENCE_ARN] == REFERENCE_ARN

    beside = cdk.Stack(cdk.App(), "Beside")
    other = REFERENCE_ARN.replace("9876543210", "1111111111")
    OmicsAutoLoad(beside, "AutoLoad", reference_arn=REFERENCE_ARN, references={"GRCh37": other}, dashboard=False)
    template = cdk.assertions.Template.from_stack(beside).to_json()
    variables = template["Resources"][_start_function(template)]["Properties"]["Environment"]["Variables"]
    chosen = ReferenceSet.from_json(variables[Env.REFERENCES])
    assert [(r.name, r.arn) for r in chosen.references] == [("default", REFERENCE_ARN), ("GRCh37", other)]
    assert chosen.default == "default"


def test_the_readme_recipe_synthesizes_with_both_references():
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", readme, flags=re.S) if "Contigs.GRCH37" in b]
    app = cdk.App()
    stack = cdk.Stack(app, "Recipe", env=cdk.Environment(account=ACCOUNT, region=REGION))
    exec(compile(block, "README.md", "exec"), {"stack": stack})
    template = app.synth().get_stack_by_name("Recipe").template
    variables = template["Resources"][_start_function(template)]["Properties"]["Environment"]["Variables"]
    text = json.dumps(variables[Env.REFERENCES])
    assert "GRCh38" in text and "GRCh37" in text and "archive/2015/*" in text
