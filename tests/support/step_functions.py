"""In-process Step Functions for the fault-injection harness: the synthesized import state
machine, run step by step on the HealthOmics double's clock.

Why not moto's executions (``support.pipeline`` uses them): moto runs each execution in a
thread and really sleeps on Retry intervals, so the order of the handlers' AWS calls
changes from run to run, and a fault planned for "the 3rd UpdateItem of Finalize" would
hit a different call each time. Here an execution moves only inside ``run_ready()``, one
at a time, and a Retry interval advances the simulated clock: a run is reproducible.

Served behind a real boto3 ``stepfunctions`` client (botocore checks the parameters):
StartExecution (idempotent for the same name and input while RUNNING, else
ExecutionAlreadyExists), DescribeExecution, ListExecutions, StopExecution, SendTaskSuccess,
SendTaskFailure, SendTaskHeartbeat (TaskTimedOut / InvalidToken for a closed task).

The ASL the import definition uses: Task (a Lambda ARN, or ``lambda:invoke.waitForTaskToken``
with ``Parameters.Payload``), Choice (``IsNull``), Succeed, Fail; ``.$`` paths in
Parameters (``$.x``, ``$$.Task.Token``); ResultPath; Retry (ErrorEquals, IntervalSeconds,
MaxAttempts, BackoffRate, MaxDelaySeconds; no jitter); Catch; a task's TimeoutSeconds
(checked by ``run_ready``). A Lambda error is the task error named by its ``errorType``
(``invoke`` raises ``TaskFailed``), as on AWS.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

WAIT_FOR_TOKEN = "arn:aws:states:::lambda:invoke.waitForTaskToken"


class TaskFailed(Exception):
    """What a task's Lambda invocation ended with: Step Functions error name and cause."""

    def __init__(self, error: str, cause: str = ""):
        super().__init__(f"{error}: {cause}")
        self.error, self.cause = error, cause


class _ServiceError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Execution:
    arn: str
    name: str
    input: str
    started: float
    state: str
    data: Any
    status: str = "RUNNING"
    stopped: float | None = None
    output: Any = None
    error: str | None = None
    cause: str | None = None
    token: str | None = None  # the open waitForTaskToken task's token
    deadline: float | None = None  # its TimeoutSeconds, on the simulated clock
    outcome: tuple[str, Any] | None = None  # ("success", output) / ("failure", (error, cause))
    retries: dict[int, int] = field(default_factory=dict)  # retrier index -> attempts in this state


def _resolve(template: Any, data: Any, context: Mapping[str, Any]) -> Any:
    """Parameters: keys ending ``.$`` take the value at a path (``$.a.b`` / ``$$.Task.Token``)."""
    if isinstance(template, Mapping):
        out = {}
        for key, value in template.items():
            if key.endswith(".$"):
                out[key[:-2]] = _path(value, data, context)
            else:
                out[key] = _resolve(value, data, context)
        return out
    return template


def _path(path: str, data: Any, context: Mapping[str, Any]) -> Any:
    root, rest = (context, path[3:]) if path.startswith("$$.") else (data, path[2:])
    value = root
    for part in filter(None, rest.split(".")):
        value = value[part]
    return value


def _matches(names: list[str], error: str) -> bool:
    if "States.ALL" in names or error in names:
        return True
    return "States.TaskFailed" in names and error != "States.Timeout"


class LocalStepFunctions:
    """Executions of one state machine. ``invoke(function_arn, payload)`` runs a task's
    Lambda function and returns its result or raises ``TaskFailed``; ``sleep(seconds)``
    advances the simulated clock (Retry intervals); ``now()`` reads it."""

    def __init__(
        self,
        state_machine_arn: str,
        definition: str | Mapping[str, Any],
        *,
        invoke: Callable[[str, Any], Any],
        now: Callable[[], float],
        sleep: Callable[[float], None],
        region: str = "us-east-1",
    ):
        self.state_machine_arn = state_machine_arn
        self.definition = json.loads(definition) if isinstance(definition, str) else copy.deepcopy(definition)
        self.invoke, self.now, self.sleep = invoke, now, sleep
        self.executions: dict[str, Execution] = {}  # by name, in start order
        self._tokens: dict[str, str] = {}  # task token -> execution name
        self._counter = 0
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
        )
        self.client = session.client("stepfunctions")
        events = self.client.meta.events
        events.register("before-parameter-build.sfn", self._capture, unique_id=f"local-sfn-{id(self)}-in")
        events.register("before-call.sfn", self._serve, unique_id=f"local-sfn-{id(self)}-call")

    # ------------------------------------------------------------------ driving

    def running(self) -> list[Execution]:
        return [e for e in self.executions.values() if e.status == "RUNNING"]

    def run_ready(self) -> int:
        """Move every execution that can move (not waiting on an open task token) until it
        waits or ends; time out open tasks past their TimeoutSeconds. Returns steps taken."""
        steps = 0
        progress = True
        while progress:
            progress = False
            for execution in list(self.executions.values()):
                if execution.status != "RUNNING":
                    continue
                if execution.token and execution.outcome is None:
                    if execution.deadline is None or self.now() < execution.deadline:
                        continue
                    self._close_task(execution, ("failure", ("States.Timeout", "task timed out")))
                steps += self._advance(execution)
                progress = True
        return steps

    def _advance(self, execution: Execution) -> int:
        steps = 0
        while execution.status == "RUNNING":
            state = self.definition["States"][execution.state]
            steps += 1
            if execution.token:  # a waitForTaskToken task whose outcome arrived
                if execution.outcome is None:
                    return steps
                outcome, execution.outcome, execution.token = execution.outcome, None, None
                if outcome[0] == "success":
                    self._succeeded(execution, state, outcome[1])
                else:
                    self._failed(execution, state, *outcome[1])
                continue
            kind = state["Type"]
            if kind == "Succeed":
                self._end(execution, "SUCCEEDED", output=execution.data)
            elif kind == "Fail":
                self._end(execution, "FAILED", error=state.get("Error"), cause=state.get("Cause"))
            elif kind == "Choice":
                self._goto(execution, self._choose(state, execution.data))
            elif kind == "Task":
                self._task(execution, state)
            else:
                raise NotImplementedError(f"state type {kind}")
        return steps

    def _choose(self, state: Mapping[str, Any], data: Any) -> str:
        for choice in state["Choices"]:
            if "IsNull" in choice:
                try:
                    value = _path(choice["Variable"], data, {})
                except (KeyError, TypeError):
                    value = None
                if (value is None) == choice["IsNull"]:
                    return choice["Next"]
            else:
                raise NotImplementedError(f"choice rule {choice}")
        return state["Default"]

    def _task(self, execution: Execution, state: Mapping[str, Any]) -> None:
        resource = state["Resource"]
        if resource == WAIT_FOR_TOKEN:
            self._counter += 1
            token = f"token-{self._counter:06d}-{uuid.UUID(int=self._counter)}"
            execution.token, execution.outcome = token, None
            timeout = state.get("TimeoutSeconds")
            execution.deadline = self.now() + timeout if timeout else None
            self._tokens[token] = execution.name
            parameters = _resolve(state["Parameters"], execution.data, {"Task": {"Token": token}})
            try:
                self.invoke(parameters["FunctionName"], parameters["Payload"])
            except TaskFailed as failure:
                if execution.outcome is None:  # a callback before the failure wins
                    self._close_task(execution, ("failure", (failure.error, failure.cause)))
            return
        payload = _resolve(state["Parameters"], execution.data, {}) if "Parameters" in state else execution.data
        try:
            result = self.invoke(resource, payload)
        except TaskFailed as failure:
            self._failed(execution, state, failure.error, failure.cause)
            return
        self._succeeded(execution, state, result)

    def _succeeded(self, execution: Execution, state: Mapping[str, Any], result: Any) -> None:
        path = state.get("ResultPath", "$")
        if path == "$":
            execution.data = result
        elif path is not None:
            execution.data = {**execution.data, path[2:]: result}
        if state.get("End"):
            self._end(execution, "SUCCEEDED", output=execution.data)
        else:
            self._goto(execution, state["Next"])

    def _failed(self, execution: Execution, state: Mapping[str, Any], error: str, cause: str) -> None:
        for index, retrier in enumerate(state.get("Retry", [])):
            if not _matches(retrier["ErrorEquals"], error):
                continue
            attempts = execution.retries.get(index, 0)
            if attempts < retrier.get("MaxAttempts", 3):
                execution.retries[index] = attempts + 1
                delay = retrier.get("IntervalSeconds", 1) * retrier.get("BackoffRate", 2.0) ** attempts
                self.sleep(min(delay, retrier.get("MaxDelaySeconds", delay)))
                return  # the same state runs again
            break  # the matching retrier is used up: on to Catch
        for catcher in state.get("Catch", []):
            if _matches(catcher["ErrorEquals"], error):
                path = catcher.get("ResultPath", "$")
                value = {"Error": error, "Cause": cause}
                execution.data = value if path == "$" else {**execution.data, path[2:]: value}
                self._goto(execution, catcher["Next"])
                return
        self._end(execution, "FAILED", error=error, cause=cause)

    def _goto(self, execution: Execution, name: str) -> None:
        execution.state, execution.retries = name, {}

    def _end(self, execution: Execution, status: str, **fields: Any) -> None:
        execution.status, execution.stopped = status, self.now()
        for name, value in fields.items():
            setattr(execution, name, value)
        if execution.token:
            self._tokens.pop(execution.token, None)
            execution.token = None

    def _close_task(self, execution: Execution, outcome: tuple[str, Any]) -> None:
        self._tokens.pop(execution.token or "", None)
        execution.outcome = outcome

    # ------------------------------------------------------------------ the API

    def _capture(self, params: dict, context: dict, **_: Any) -> None:
        context["local_sfn_params"] = params

    def _serve(self, model: Any, context: dict, **_: Any) -> tuple[AWSResponse, dict]:
        params = copy.deepcopy(context.pop("local_sfn_params"))
        try:
            body = getattr(self, "_op_" + model.name)(params)
        except _ServiceError as error:
            parsed = {"Error": {"Code": error.code, "Message": error.message}}
            return self._http(400, parsed)
        return self._http(200, body)

    @staticmethod
    def _http(status: int, parsed: dict) -> tuple[AWSResponse, dict]:
        parsed["ResponseMetadata"] = {"HTTPStatusCode": status, "HTTPHeaders": {}, "RetryAttempts": 0}
        return AWSResponse("https://states.invalid/", status, {}, None), parsed

    def _arn(self, name: str) -> str:
        return self.state_machine_arn.replace(":stateMachine:", ":execution:", 1) + ":" + name

    def _execution(self, arn: str) -> Execution:
        name = arn.rsplit(":", 1)[-1]
        if name not in self.executions or self._arn(name) != arn:
            raise _ServiceError("ExecutionDoesNotExist", f"Execution does not exist: '{arn}'")
        return self.executions[name]

    @staticmethod
    def _ts(t: float | None) -> datetime | None:
        return None if t is None else datetime.fromtimestamp(t, tz=UTC)

    def _op_StartExecution(self, params: dict) -> dict:
        if params["stateMachineArn"] != self.state_machine_arn:
            raise _ServiceError("StateMachineDoesNotExist", params["stateMachineArn"])
        name, text = params.get("name") or str(uuid.uuid4()), params.get("input", "{}")
        old = self.executions.get(name)
        if old is not None:
            if old.status == "RUNNING" and old.input == text:
                return {"executionArn": old.arn, "startDate": self._ts(old.started)}
            raise _ServiceError("ExecutionAlreadyExists", f"Execution Already Exists: '{old.arn}'")
        start = self.definition["StartAt"]
        self.executions[name] = Execution(self._arn(name), name, text, self.now(), start, json.loads(text))
        return {"executionArn": self._arn(name), "startDate": self._ts(self.now())}

    def _op_DescribeExecution(self, params: dict) -> dict:
        e = self._execution(params["executionArn"])
        out = {
            "executionArn": e.arn,
            "stateMachineArn": self.state_machine_arn,
            "name": e.name,
            "status": e.status,
            "startDate": self._ts(e.started),
            "input": e.input,
        }
        if e.stopped is not None:
            out["stopDate"] = self._ts(e.stopped)
        if e.error:
            out.update(error=e.error, cause=e.cause or "")
        return out

    def _op_ListExecutions(self, params: dict) -> dict:
        wanted = params.get("statusFilter")
        return {
            "executions": [
                {
                    "executionArn": e.arn,
                    "stateMachineArn": self.state_machine_arn,
                    "name": e.name,
                    "status": e.status,
                    "startDate": self._ts(e.started),
                }
                for e in self.executions.values()
                if wanted in (None, e.status)
            ]
        }

    def _op_StopExecution(self, params: dict) -> dict:
        e = self._execution(params["executionArn"])
        if e.status == "RUNNING":
            self._end(e, "ABORTED", error=params.get("error"), cause=params.get("cause"))
        return {"stopDate": self._ts(self.now())}

    def _open_task(self, token: str) -> Execution:
        name = self._tokens.get(token)
        if name is None:  # one of ours that closed, or never one of ours
            raise _ServiceError("TaskTimedOut" if token.startswith("token-") else "InvalidToken", "Task Timed Out")
        execution = self.executions[name]
        if execution.outcome is not None:
            raise _ServiceError("TaskTimedOut", "Task Timed Out")
        return execution

    def _op_SendTaskSuccess(self, params: dict) -> dict:
        execution = self._open_task(params["taskToken"])
        self._close_task(execution, ("success", json.loads(params["output"])))
        return {}

    def _op_SendTaskFailure(self, params: dict) -> dict:
        execution = self._open_task(params["taskToken"])
        self._close_task(execution, ("failure", (params.get("error", ""), params.get("cause", ""))))
        return {}

    def _op_SendTaskHeartbeat(self, params: dict) -> dict:
        self._open_task(params["taskToken"])
        return {}
