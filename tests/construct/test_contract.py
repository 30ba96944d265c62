"""The construct writes what the handlers read: the synthesized templates against ``contract``.

moto enforces no IAM and the e2e harness reads its schema from the template, so a key
list, filter, index or variable name that drifted from the contract would pass every
other local test and break only in AWS. These tests read the values back from the
templates CloudFormation receives.
"""

from __future__ import annotations

import dataclasses
import json
import warnings

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match, Template
from omics_autoload_runtime import contract, errors
from omics_autoload_runtime.contract import Env
from omics_autoload_runtime.domain.illumina_sheet import SheetColumns
from omics_autoload_runtime.domain.limits import IMPORT_JOB_TERMINAL_STATUSES
from omics_autoload_runtime.domain.options import AssemblyOptions
from omics_autoload_runtime.settings import ConfigurationError, Settings
from support.synth import example_template, maximal_template, resources_of_type, state_machine_definitions

from omics_autoload_construct import OmicsAutoLoad, PostImportAction

TEMPLATES = {"example": example_template, "maximal": maximal_template}


def _statements(template):
    for policy in resources_of_type(template, "AWS::IAM::Policy").values():
        yield from policy["Properties"]["PolicyDocument"]["Statement"]


def _handler_functions(template):
    """The pipeline's functions (the reference provider's are CloudFormation custom resource handlers)."""
    return {
        logical_id: function
        for logical_id, function in resources_of_type(template, "AWS::Lambda::Function").items()
        if function["Properties"]["Handler"].startswith("omics_autoload_runtime.handlers.")
        and ".reference_provider." not in function["Properties"]["Handler"]
    }


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_leading_keys_condition_is_a_contract_list(name):
    template = TEMPLATES[name]()
    lists = [
        statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
        for statement in _statements(template)
        if "dynamodb:LeadingKeys" in json.dumps(statement.get("Condition", {}))
    ]
    # Every statement that deletes is narrowed by one of the contract's lists.
    deletes = [s for s in _statements(template) if "dynamodb:DeleteItem" in json.dumps(s["Action"])]
    assert len(lists) == len(deletes) > 0
    allowed = {tuple(contract.SLOT_DELETABLE_KEYS), tuple(contract.POST_IMPORT_DELETABLE_KEYS)}
    assert {tuple(keys) for keys in lists} <= allowed
    assert tuple(contract.SLOT_DELETABLE_KEYS) in {tuple(keys) for keys in lists}
    if name == "maximal":  # post_import_action TAG: the sweep deletes resolved markers
        assert tuple(contract.POST_IMPORT_DELETABLE_KEYS) in {tuple(keys) for keys in lists}


def test_the_leading_keys_match_the_keys_the_runtime_writes():
    from omics_autoload_runtime.adapters import import_slots
    from omics_autoload_runtime.logic import post_import

    assert f"{import_slots.SLOT_PREFIX}*" in contract.SLOT_DELETABLE_KEYS
    assert import_slots.QUEUE_PK in contract.SLOT_DELETABLE_KEYS
    assert (f"{post_import.PENDING_PREFIX}*",) == contract.POST_IMPORT_DELETABLE_KEYS


@pytest.mark.parametrize("name", TEMPLATES)
def test_the_stream_filter_is_the_contract_pattern(name):
    mappings = resources_of_type(TEMPLATES[name](), "AWS::Lambda::EventSourceMapping").values()
    (mapping,) = [m for m in mappings if "StreamArn" in json.dumps(m["Properties"]["EventSourceArn"])]
    patterns = [json.loads(f["Pattern"]) for f in mapping["Properties"]["FilterCriteria"]["Filters"]]
    assert patterns == [contract.STARTER_FILTER_PATTERN]


@pytest.mark.parametrize("name", TEMPLATES)
def test_the_due_index_is_the_contract_index(name):
    template = TEMPLATES[name]()
    (table,) = resources_of_type(template, "AWS::DynamoDB::Table").values()
    (index,) = table["Properties"]["GlobalSecondaryIndexes"]
    assert index["IndexName"] == contract.DUE_INDEX
    assert index["KeySchema"] == [
        {"AttributeName": contract.DUE_QUEUE, "KeyType": "HASH"},
        {"AttributeName": contract.DUE_AT, "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(contract.DUE_INDEX_INCLUDE)}
    index_grants = [
        resource
        for statement in _statements(template)
        for resource in statement.get("Resource", [])
        if isinstance(resource, dict) and "/index/" in json.dumps(resource)
    ]
    assert index_grants and all(f"/index/{contract.DUE_INDEX}" in json.dumps(r) for r in index_grants)


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_function_gets_every_contract_variable_and_no_other(name):
    functions = _handler_functions(TEMPLATES[name]())
    assert len(functions) == (8 if name == "maximal" else 7)  # maximal adds the reconciliation function
    for logical_id, function in functions.items():
        assert set(function["Properties"]["Environment"]["Variables"]) == set(Env), logical_id


def test_the_workflow_retries_the_errors_the_handlers_raise():
    (definition,) = [json.loads(d) for k, d in state_machine_definitions(example_template()).items()]
    retried = {
        tuple(rule["ErrorEquals"])
        for state in definition["States"].values()
        for rule in state.get("Retry", [])
        if not rule["ErrorEquals"][0].startswith("Lambda.")  # CDK's retries of the Lambda service itself
    }
    assert retried == {tuple(contract.TRANSIENT_ERRORS), tuple(contract.QUOTA_ERRORS)}
    for name in contract.WorkflowError:
        assert getattr(errors, name).__name__ == name  # the exception class is the error name


def test_the_job_status_rule_matches_the_terminal_statuses():
    rules = resources_of_type(example_template(), "AWS::Events::Rule")
    (rule,) = [r for r in rules.values() if "EventPattern" in r["Properties"]]
    assert rule["Properties"]["EventPattern"]["detail"]["status"] == list(IMPORT_JOB_TERMINAL_STATUSES)


def test_the_metrics_the_alarms_read_are_the_contract_metrics():
    alarms = resources_of_type(maximal_template(), "AWS::CloudWatch::Alarm").values()
    custom = {a["Properties"]["MetricName"] for a in alarms if a["Properties"].get("Namespace") == "OmicsAutoLoad"}
    assert custom and custom <= set(contract.Metric)
    for alarm in alarms:
        if alarm["Properties"].get("Namespace") == "OmicsAutoLoad":
            assert [d["Name"] for d in alarm["Properties"]["Dimensions"]] == [contract.Dimension.SEQUENCE_STORE_ID]


# ------------------------------------------------------------------ settings


def test_each_variable_is_a_settings_field():
    assert {f.name.upper() for f in dataclasses.fields(Settings)} == set(Env)


def test_settings_survive_the_trip_through_the_environment():
    settings = Settings(
        table_name="t",
        sequence_store_id="1234567890",
        assembly_options=AssemblyOptions(include_undetermined=True),
        orphan_window_seconds=60,
        log_identifiers=True,
        sample_sheet_name="",
        illumina_sheet_columns=SheetColumns.merged({"subject_id": ["Patient_ID"]}),
        post_import_action=PostImportAction.DELETE,
        omics_calls_per_second=2.5,
    )
    environment = settings.to_environment()
    assert environment[Env.OMICS_CALLS_PER_SECOND] == "2.5"
    assert environment[Env.LOG_IDENTIFIERS] == "true"
    assert Settings.from_environment(environment) == settings
    assert Settings.from_environment({}) == Settings()


def test_a_malformed_variable_names_itself():
    with pytest.raises(ConfigurationError, match="OMICS_CALLS_PER_SECOND"):
        Settings.from_environment({Env.OMICS_CALLS_PER_SECOND: "0"})
    with pytest.raises(ConfigurationError, match="POST_IMPORT_ACTION"):
        Settings.from_environment({Env.POST_IMPORT_ACTION: "ARCHIVE"})
    with pytest.raises(ConfigurationError, match="ILLUMINA_SHEET_COLUMNS is not valid: unknown sheet column"):
        Settings.from_environment({Env.ILLUMINA_SHEET_COLUMNS: '{"patient": ["X"]}'})
    with pytest.raises(ConfigurationError, match="REUPLOAD_POLICY='REPLACE' is not one of IMPORT_AS_NEW, HOLD"):
        Settings.from_environment({Env.REUPLOAD_POLICY: "replace"})
    assert Settings.from_environment({Env.REUPLOAD_POLICY: "hold"}).reupload_policy == "HOLD"


# ------------------------------------------------------------------ renamed props


def _synth_with(**props) -> cdk.Stack:
    stack = cdk.Stack(cdk.App(), "Props")
    OmicsAutoLoad(stack, "AutoLoad", dashboard=False, **props)
    return stack


def _sweep_schedule(stack: cdk.Stack) -> str:
    rules = Template.from_stack(stack).find_resources("AWS::Events::Rule").values()
    (schedule,) = [r["Properties"]["ScheduleExpression"] for r in rules if "ScheduleExpression" in r["Properties"]]
    return schedule


def test_poll_interval_still_sets_the_sweep_with_a_warning():
    with pytest.warns(DeprecationWarning, match="poll_interval"):
        stack = _synth_with(poll_interval=cdk.Duration.minutes(10))
    assert _sweep_schedule(stack) == "rate(10 minutes)"
    assert Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("poll_interval is deprecated"))


def test_sweep_interval_sets_the_sweep():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        assert _sweep_schedule(_synth_with(sweep_interval=cdk.Duration.minutes(15))) == "rate(15 minutes)"


def test_giving_both_names_is_an_error():
    with pytest.raises(ValueError, match="not both"):
        _synth_with(poll_interval=cdk.Duration.minutes(10), sweep_interval=cdk.Duration.minutes(10))
