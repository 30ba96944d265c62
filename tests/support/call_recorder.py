"""Records every AWS call the handlers and the state machine make in the e2e harness.

Each boto3 call is attributed to the handler running in its thread (the harness's
``HANDLERS`` are wrapped) or, for the clients moto's Step Functions engine creates (they
sign with the access key ``ak``), to the state machine. ``iam_requests`` turns a call
into what IAM authorizes: the action(s), the resource ARN and the request context keys
the construct's policies condition on (``dynamodb:LeadingKeys``, ``iam:PassedToService``,
``cloudwatch:namespace``).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from unittest import mock

from botocore.client import BaseClient
from botocore.exceptions import ClientError

from support import pipeline

STATE_MACHINE = "state-machine"
_MOTO_STATE_MACHINE_KEY = "ak"  # moto.stepfunctions.parser.asl.utils.boto_client


@dataclass(frozen=True)
class Call:
    function: str  # harness handler name, or STATE_MACHINE
    service: str  # the IAM service prefix
    operation: str
    params: Mapping[str, Any]
    error: str | None = None


@contextlib.contextmanager
def recording() -> Iterator[list[Call]]:
    """Record calls while the block runs; yields the (growing) list."""
    calls: list[Call] = []
    local = threading.local()
    original = BaseClient._make_api_call

    def make_api_call(client: Any, operation: str, params: dict[str, Any]) -> Any:
        credentials = client._request_signer._credentials
        if credentials is not None and credentials.access_key == _MOTO_STATE_MACHINE_KEY:
            function = STATE_MACHINE
        else:
            function = getattr(local, "function", None)
        prefix = client.meta.service_model.signing_name
        prefix = {"monitoring": "cloudwatch"}.get(prefix, prefix)
        try:
            return original(client, operation, params)
        except ClientError as error:
            if function:
                calls.append(Call(function, prefix, operation, params, error.response["Error"].get("Code")))
                function = None
            raise
        finally:
            if function:
                calls.append(Call(function, prefix, operation, params))

    def attributed(name: str, handler: Any) -> Any:
        def run(event: Any, context: Any) -> Any:
            outer = getattr(local, "function", None)
            local.function = name
            try:
                return handler(event, context)
            finally:
                local.function = outer

        return run

    with (
        mock.patch.object(BaseClient, "_make_api_call", make_api_call),
        mock.patch.dict(pipeline.HANDLERS, {n: attributed(n, h) for n, h in pipeline.HANDLERS.items()}),
    ):
        yield calls


def _table(params: Mapping[str, Any], name: str | None = None) -> str:
    return f"arn:aws:dynamodb:{pipeline.REGION}:{pipeline.ACCOUNT}:table/{name or params['TableName']}"


def _leading(key: Mapping[str, Any] | None) -> dict[str, Any]:
    value = (key or {}).get("pk", {}).get("S")
    return {"dynamodb:LeadingKeys": [value]} if value is not None else {}


def _dynamodb(call: Call) -> list[tuple[str, str, dict[str, Any]]]:
    p, op = call.params, call.operation
    if op in ("GetItem", "PutItem", "UpdateItem", "DeleteItem"):
        return [(f"dynamodb:{op}", _table(p), _leading(p.get("Key") or p.get("Item")))]
    if op in ("Query", "Scan"):
        index = f"/index/{p['IndexName']}" if "IndexName" in p else ""
        return [(f"dynamodb:{op}", _table(p) + index, {})]
    if op == "BatchGetItem":
        return [("dynamodb:BatchGetItem", _table(p, t), {}) for t in p["RequestItems"]]
    if op == "TransactWriteItems":
        kinds = {
            "Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem",
        }
        out = []
        for item in p["TransactItems"]:
            ((kind, body),) = item.items()
            out.append((f"dynamodb:{kinds[kind]}", _table(body), _leading(body.get("Key") or body.get("Item"))))
        return out
    raise KeyError(op)


def _s3(call: Call) -> list[tuple[str, str, dict[str, Any]]]:
    p, op = call.params, call.operation
    bucket = f"arn:aws:s3:::{p['Bucket']}"
    if op == "ListObjectsV2":
        return [("s3:ListBucket", bucket, {"s3:prefix": p.get("Prefix", "")})]
    if op == "ListObjectVersions":
        return [("s3:ListBucketVersions", bucket, {"s3:prefix": p.get("Prefix", "")})]
    versioned = "VersionId" in p
    action = {
        "GetObject": "s3:GetObjectVersion" if versioned else "s3:GetObject",
        "HeadObject": "s3:GetObjectVersion" if versioned else "s3:GetObject",
        "GetObjectTagging": "s3:GetObjectVersionTagging" if versioned else "s3:GetObjectTagging",
        "PutObjectTagging": "s3:PutObjectVersionTagging" if versioned else "s3:PutObjectTagging",
        "DeleteObject": "s3:DeleteObjectVersion" if versioned else "s3:DeleteObject",
    }[op]
    out = [(action, f"{bucket}/{p['Key']}", {})]
    if call.error in ("NoSuchKey", "404"):
        # S3 answers a missing key with 404 only to a caller that may list the bucket.
        out.append(("s3:ListBucket", bucket, {"s3:prefix": p["Key"]}))
    return out


def _omics(call: Call) -> list[tuple[str, str, dict[str, Any]]]:
    p, op = call.params, call.operation
    base = f"arn:aws:omics:{pipeline.REGION}:{pipeline.ACCOUNT}"
    if "sequenceStoreId" in p:
        resource = f"{base}:sequenceStore/{p['sequenceStoreId']}"
        if op == "GetReadSetMetadata":
            resource += f"/readSet/{p['id']}"
    else:
        resource = f"{base}:referenceStore/{p['referenceStoreId']}"
        if op == "GetReferenceMetadata":
            resource += f"/reference/{p['id']}"
    out = [(f"omics:{op}", resource, {})]
    if "roleArn" in p:
        out.append(("iam:PassRole", p["roleArn"], {"iam:PassedToService": "omics.amazonaws.com"}))
    return out


def iam_requests(call: Call) -> list[tuple[str, str, dict[str, Any]]]:
    """(action, resource ARN, request context) for each authorization the call needs."""
    p, op = call.params, call.operation
    if call.service == "dynamodb":
        return _dynamodb(call)
    if call.service == "s3":
        return _s3(call)
    if call.service == "omics":
        return _omics(call)
    if call.service == "states":
        resource = p.get("stateMachineArn") or p.get("executionArn") or pipeline.STATE_MACHINE_ARN
        return [(f"states:{op}", resource, {})]
    if call.service == "cloudwatch" and op == "PutMetricData":
        return [("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": p["Namespace"]})]
    if call.service == "ssm" and op == "GetParameter":
        return [("ssm:GetParameter", f"arn:aws:ssm:{pipeline.REGION}:{pipeline.ACCOUNT}:parameter/"
                 + p["Name"].lstrip("/"), {})]
    if call.service == "sns" and op in ("Publish", "PublishBatch"):
        return [("sns:Publish", p["TopicArn"], {})]
    if call.service == "lambda" and op == "Invoke":
        name = p["FunctionName"]
        if not name.startswith("arn:"):
            name = f"arn:aws:lambda:{pipeline.REGION}:{pipeline.ACCOUNT}:function:{name}"
        return [("lambda:InvokeFunction", name, {})]
    raise KeyError(f"no IAM mapping for {call.service}:{op}")
