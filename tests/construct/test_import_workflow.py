"""The import workflow as synthesized: valid ASL, retries, catches, constant cost per job."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from support.synth import example_template, pipeline_definition, resources_of_type, state_machine_definitions

REPO = Path(__file__).resolve().parents[2]


def test_every_state_machine_passes_asl_validator(tmp_path):
    validator = REPO / "node_modules" / ".bin" / "asl-validator"
    definitions = state_machine_definitions(example_template())
    assert definitions
    for logical_id, definition in definitions.items():
        path = tmp_path / f"{logical_id}.json"
        path.write_text(definition)
        result = subprocess.run([str(validator), "--json-path", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, f"{logical_id}: {result.stdout}{result.stderr}"


def test_asl_validator_rejects_a_broken_definition(tmp_path):
    validator = REPO / "node_modules" / ".bin" / "asl-validator"
    broken = json.loads(pipeline_definition())
    broken["StartAt"] = "NoSuchState"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    assert subprocess.run([str(validator), "--json-path", str(path)], capture_output=True).returncode != 0


def _states() -> dict:
    return json.loads(pipeline_definition())["States"]


def test_omics_errors_are_retried_with_backoff_and_full_jitter():
    start = _states()["StartImport"]
    by_error = {tuple(r["ErrorEquals"]): r for r in start["Retry"]}
    throttled = by_error[("OmicsThrottled", "OmicsUnavailable")]
    assert throttled["BackoffRate"] == 2 and throttled["JitterStrategy"] == "FULL"
    assert throttled["MaxDelaySeconds"] == 120
    quota = by_error[("OmicsQuotaExceeded",)]
    assert quota["JitterStrategy"] == "FULL" and quota["MaxAttempts"] == 30 and quota["MaxDelaySeconds"] == 900


def test_every_task_has_a_catch_that_records_the_failure():
    states = _states()
    tasks = [name for name, s in states.items() if s["Type"] == "Task" and name != "RecordFailure"]
    assert set(tasks) == {"AcquireSlot", "StartImport", "WaitForCompletion", "Finalize"}
    for name in tasks:
        catchers = states[name]["Catch"]
        assert any(c["ErrorEquals"] == ["States.ALL"] and c["Next"] == "RecordFailure" for c in catchers), name
    assert states["RecordFailure"]["Next"] == "ImportFailed"
    assert states["ImportFailed"]["Type"] == "Fail"


def test_a_crashed_task_is_tried_again_not_recorded_as_failed():
    # Lambda.Unknown after StartReadSetImportJob took effect must not reach RecordFailure
    # (issue 16): every task is idempotent, RecordFailure included.
    for name, state in _states().items():
        if state["Type"] == "Task":
            retried = {error for rule in state["Retry"] for error in rule["ErrorEquals"]}
            assert {"Lambda.Unknown", "Lambda.TooManyRequestsException"} <= retried, name


def test_completion_waits_on_a_task_token_not_a_polling_loop():
    states = _states()
    assert not [name for name, s in states.items() if s["Type"] == "Wait"]
    wait = states["WaitForCompletion"]
    assert wait["Resource"].endswith(":states:::lambda:invoke.waitForTaskToken")
    assert wait["Parameters"]["Payload"]["taskToken.$"] == "$$.Task.Token"
    assert wait["TimeoutSeconds"] == 7 * 24 * 3600


def test_job_status_events_and_the_sweep_reach_the_completion_function():
    template = example_template()
    rules = resources_of_type(template, "AWS::Events::Rule")
    patterns = [r["Properties"].get("EventPattern") for r in rules.values()]
    omics = [p for p in patterns if p and p.get("source") == ["aws.omics"]]
    assert omics and omics[0]["detail-type"] == ["Read Set Import Job Status Change"]
    assert set(omics[0]["detail"]["status"]) == {"COMPLETED", "COMPLETED_WITH_FAILURES", "FAILED", "CANCELLED"}
    schedules = [r["Properties"].get("ScheduleExpression") for r in rules.values()]
    schedules = [s for s in schedules if s]
    assert schedules == ["rate(5 minutes)"]


def test_state_machine_is_encrypted_traced_and_logged_without_execution_data():
    (machine,) = resources_of_type(example_template(), "AWS::StepFunctions::StateMachine").values()
    props = machine["Properties"]
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    assert props["LoggingConfiguration"]["IncludeExecutionData"] is False
    assert props["EncryptionConfiguration"]["Type"] == "CUSTOMER_MANAGED_KMS_KEY"


def test_a_batch_acquires_an_import_slot_before_it_starts_a_job():
    definition = json.loads(pipeline_definition())
    states = definition["States"]
    assert definition["StartAt"] == "AcquireSlot"
    acquire = states["AcquireSlot"]
    assert acquire["Resource"].endswith(":states:::lambda:invoke.waitForTaskToken")
    assert "CapacityFunction" in acquire["Parameters"]["FunctionName"]
    assert acquire["Parameters"]["Payload"] == {"taskToken.$": "$$.Task.Token", "batchId.$": "$.batchId"}
    assert acquire["ResultPath"] is None  # the batch's input goes on to StartImport unchanged
    assert acquire["Next"] == "StartImport"
    assert acquire["TimeoutSeconds"] == 7 * 24 * 3600
    assert any(c["ErrorEquals"] == ["States.ALL"] and c["Next"] == "RecordFailure" for c in acquire["Catch"])
    assert ["OmicsThrottled", "OmicsUnavailable"] in [r["ErrorEquals"] for r in acquire["Retry"]]
    # One state more per job, whatever the queue length: waiting costs no transitions.
    assert not [name for name, s in states.items() if s["Type"] == "Wait"]


def test_slot_and_rate_settings_reach_the_functions():
    from support.synth import function_environment

    for handler in (
        "omics_autoload_runtime.handlers.import_slot.handler",
        "omics_autoload_runtime.handlers.import_start.handler",
        "omics_autoload_runtime.handlers.import_finalize.handler",
        "omics_autoload_runtime.handlers.completion.handler",
    ):
        assert function_environment(handler)["MAX_CONCURRENT_IMPORT_JOBS"] == "10", handler


def test_only_slot_and_waiter_items_can_be_deleted():
    template = example_template()
    deletes = []
    for policy in resources_of_type(template, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if "dynamodb:DeleteItem" in actions:
                deletes.append(statement)
    assert len(deletes) == 4  # capacity, start, finalize, completion
    for statement in deletes:
        assert statement["Condition"] == {
            "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["SLOT#*", "SLOTQ"]}
        }
