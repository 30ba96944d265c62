"""The README's code works as written."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), flags=re.S)


def test_the_configuration_example_synthesizes(tmp_path):
    import aws_cdk as cdk

    (block,) = [b for b in _python_blocks() if "TriggerMode.EVENTBRIDGE" in b]
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "ReadmeExample")
    exec(compile(block, "README.md", "exec"), {"stack": stack})
    assembly = app.synth()
    template = assembly.get_stack_by_name("ReadmeExample").template
    kinds = {r["Type"] for r in template["Resources"].values()}
    assert {"AWS::StepFunctions::StateMachine", "Custom::OmicsReference", "AWS::SNS::Topic"} <= kinds


def test_the_minimal_example_is_the_example_app():
    (first, *_) = _python_blocks()
    app_source = (REPO / "examples" / "app.py").read_text()
    assert 'OmicsAutoLoad(self, "AutoLoad")' in app_source
    assert 'OmicsAutoLoad(stack, "AutoLoad")' in first
