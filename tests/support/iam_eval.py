"""A small IAM evaluator over a synthesized CloudFormation template.

moto enforces no IAM, resource or key policy, so what AWS would refuse at its
boundaries is evaluated here, from the template itself: every intrinsic is resolved
to a concrete ARN for a test account and Region, and a request (principal, action,
resource, request context) is decided as IAM decides it within one account:

- an explicit ``Deny`` in any policy that applies wins;
- a role is allowed by its identity policies (inline, ``AWS::IAM::Policy`` and the AWS
  managed policies whose content is known here) or by a resource policy naming it;
- a service principal has no identity policy: a resource policy must name it;
- a KMS key is allowed only through its key policy, directly or by the account
  statement (``arn:aws:iam::<account>:root``) that delegates to identity policies.

Statements match on ``Action``/``NotAction``, ``Resource``/``NotResource`` (``*`` and
``?`` wildcards, case-insensitive actions), ``Principal`` and the condition operators
the templates use. Unknown operators fail loudly rather than pass.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"

# AWS managed policies the construct attaches, by ARN suffix (content as AWS publishes it).
MANAGED_POLICIES: dict[str, list[dict[str, Any]]] = {
    "service-role/AWSLambdaBasicExecutionRole": [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "*",
        }
    ],
}


@dataclass(frozen=True)
class Request:
    """One authorization question: may ``principal`` do ``action`` on ``resource``?"""

    principal: str  # a role ARN, or "service:<name>.amazonaws.com"
    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        return f"{self.principal} {self.action} {self.resource} {dict(self.context)}"


def service(name: str) -> str:
    return f"service:{name}"


# --------------------------------------------------------------------------- resolving


# How CloudFormation answers Ref / GetAtt per resource type, from the resource's name.
def _names(kind: str, name: str, props: Mapping[str, Any]) -> dict[str, str]:
    arn = f"arn:aws:{{}}:{REGION}:{ACCOUNT}:"
    if kind == "AWS::S3::Bucket":
        return {"Ref": name, "Arn": f"arn:aws:s3:::{name}"}
    if kind == "AWS::DynamoDB::Table":
        table = arn.format("dynamodb") + f"table/{name}"
        return {"Ref": name, "Arn": table, "StreamArn": f"{table}/stream/2024-01-01T00:00:00.000"}
    if kind == "AWS::Lambda::Function":
        return {"Ref": name, "Arn": arn.format("lambda") + f"function:{name}"}
    if kind == "AWS::IAM::Role":
        return {"Ref": name, "Arn": f"arn:aws:iam::{ACCOUNT}:role/{name}"}
    if kind == "AWS::SNS::Topic":
        topic = arn.format("sns") + name
        return {"Ref": topic, "TopicArn": topic, "TopicName": name}
    if kind == "AWS::SQS::Queue":
        return {
            "Ref": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}",
            "Arn": arn.format("sqs") + name,
            "QueueName": name,
        }
    if kind == "AWS::StepFunctions::StateMachine":
        machine = arn.format("states") + f"stateMachine:{name}"
        return {"Ref": machine, "Arn": machine, "Name": name}
    if kind == "AWS::KMS::Key":
        return {"Ref": name, "KeyId": name, "Arn": arn.format("kms") + f"key/{name}"}
    if kind == "AWS::Logs::LogGroup":
        return {"Ref": name, "Arn": arn.format("logs") + f"log-group:{name}:*"}
    if kind == "AWS::Events::Rule":
        return {"Ref": name, "Arn": arn.format("events") + f"rule/{name}"}
    if kind == "AWS::CloudWatch::Alarm":
        return {"Ref": name, "Arn": arn.format("cloudwatch") + f"alarm:{name}"}
    if kind == "AWS::SSM::Parameter":
        return {"Ref": name}
    if kind == "AWS::Omics::SequenceStore":
        return {"SequenceStoreId": "1111111111", "Arn": arn.format("omics") + "sequenceStore/1111111111"}
    if kind == "AWS::Omics::ReferenceStore":
        return {"ReferenceStoreId": "2222222222", "Arn": arn.format("omics") + "referenceStore/2222222222"}
    return {"Ref": name, "Arn": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:{name}"}


_NAME_PROPERTY = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::IAM::Role": "RoleName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::SSM::Parameter": "Name",
    "AWS::Events::Rule": "Name",
}
_PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "stack",
    "AWS::NoValue": None,
}


class Template:
    """A synthesized template whose intrinsics resolve to concrete values.

    ``names`` overrides what Ref / GetAtt answer for a logical id (``{"Ref": ..,
    "Arn": ..}``), so that the resources the e2e harness creates under its own names are
    the template's resources.
    """

    def __init__(
        self,
        template: Mapping[str, Any],
        *,
        names: Mapping[str, Mapping[str, str]] | None = None,
        external_key_policies: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    ) -> None:
        self.raw = template
        self.resources: dict[str, dict[str, Any]] = dict(template["Resources"])
        self._overrides = {k: dict(v) for k, v in (names or {}).items()}
        self._attributes: dict[str, dict[str, str]] = {}
        # Keys not in the template (imported IKey): their policy, by key ARN.
        self.external_key_policies = {k: list(v) for k, v in (external_key_policies or {}).items()}

    # ------------------------------------------------------------------ intrinsics

    def attribute(self, logical_id: str, name: str) -> Any:
        if logical_id not in self._attributes:
            resource = self.resources[logical_id]
            props = resource.get("Properties", {})
            given = props.get(_NAME_PROPERTY.get(resource["Type"], ""))
            physical = self.resolve(given) if given is not None else logical_id
            answers = _names(resource["Type"], str(physical), props)
            if resource["Type"] == "Custom::OmicsReference":
                store = self.resolve(props["ReferenceStoreId"])
                answers = {
                    "ReferenceId": "5000000005",
                    "ReferenceArn": f"arn:aws:omics:{REGION}:{ACCOUNT}:referenceStore/{store}/reference/5000000005",
                }
            answers.update(self._overrides.get(logical_id, {}))
            self._attributes[logical_id] = answers
        answers = self._attributes[logical_id]
        if name not in answers:
            raise KeyError(f"{logical_id} ({self.resources[logical_id]['Type']}) has no attribute {name!r} here")
        return answers[name]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1 or not next(iter(value)).startswith(("Fn::", "Ref")):
            return {k: self.resolve(v) for k, v in value.items()}
        (fn, arg), = value.items()
        if fn == "Ref":
            return _PSEUDO[arg] if arg in _PSEUDO else self.attribute(arg, "Ref")
        if fn == "Fn::GetAtt":
            logical_id, name = arg if isinstance(arg, list) else arg.split(".", 1)
            return self.attribute(logical_id, name)
        if fn == "Fn::Join":
            separator, parts = arg
            return separator.join(str(self.resolve(p)) for p in self.resolve(parts))
        if fn == "Fn::Select":
            index, items = arg
            return self.resolve(items)[int(self.resolve(index))]
        if fn == "Fn::Split":
            separator, text = arg
            return str(self.resolve(text)).split(separator)
        if fn == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else arg
            variables = {k: self.resolve(v) for k, v in variables.items()}

            def substitute(match: re.Match[str]) -> str:
                name = match.group(1)
                if name in variables:
                    return str(variables[name])
                if name in _PSEUDO:
                    return str(_PSEUDO[name])
                logical_id, _, attribute = name.partition(".")
                return str(self.attribute(logical_id, attribute or "Ref"))

            return re.sub(r"\$\{([^}!]+)\}", substitute, text)
        raise ValueError(f"cannot resolve {fn}")

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == kind}

    def logical_id_of(self, kind: str, attribute: str, value: str) -> str | None:
        for logical_id in self.of_type(kind):
            try:
                if self.attribute(logical_id, attribute) == value:
                    return logical_id
            except KeyError:
                continue
        return None

    # ------------------------------------------------------------------ policies

    def role_arn(self, logical_id: str) -> str:
        return str(self.attribute(logical_id, "Arn"))

    def function_role(self, function_logical_id: str) -> str:
        """The ARN of a function's execution role."""
        return str(self.resolve(self.resources[function_logical_id]["Properties"]["Role"]))

    def identity_statements(self, principal: str) -> list[dict[str, Any]]:
        role_id = self.logical_id_of("AWS::IAM::Role", "Arn", principal)
        if role_id is None:
            return []
        role = self.resources[role_id]["Properties"]
        out: list[dict[str, Any]] = []
        for policy in role.get("Policies", []):
            out += _statements(self.resolve(policy["PolicyDocument"]))
        for arn in self.resolve(role.get("ManagedPolicyArns", [])):
            suffix = arn.split(":policy/", 1)[1]
            if suffix not in MANAGED_POLICIES:
                raise KeyError(f"content of managed policy {arn} is not known to the evaluator")
            out += MANAGED_POLICIES[suffix]
        role_name = self.attribute(role_id, "Ref")
        for policy in self.of_type("AWS::IAM::Policy").values():
            props = policy["Properties"]
            if role_name in self.resolve(props.get("Roles", [])):
                out += _statements(self.resolve(props["PolicyDocument"]))
        return out

    def trust_statements(self, role_arn: str) -> list[dict[str, Any]]:
        role_id = self.logical_id_of("AWS::IAM::Role", "Arn", role_arn)
        if role_id is None:
            return []
        return _statements(self.resolve(self.resources[role_id]["Properties"]["AssumeRolePolicyDocument"]))

    def resource_statements(self, resource: str) -> list[dict[str, Any]] | None:
        """The resource policy that governs ``resource``; None when it has none.

        An SNS topic without a topic policy has SNS's default policy (the owner account's
        principals may publish); a topic policy replaces it.
        """
        found: list[dict[str, Any]] | None = None

        def add(statements: list[dict[str, Any]]) -> None:
            nonlocal found
            found = (found or []) + statements

        for policy in self.of_type("AWS::SNS::TopicPolicy").values():
            if resource in self.resolve(policy["Properties"]["Topics"]):
                add(_statements(self.resolve(policy["Properties"]["PolicyDocument"])))
        if found is None and self.logical_id_of("AWS::SNS::Topic", "TopicArn", resource):
            add([_sns_default_statement(resource)])
        for policy in self.of_type("AWS::SQS::QueuePolicy").values():
            urls = self.resolve(policy["Properties"]["Queues"])
            if any(_queue_arn(url) == resource for url in urls):
                add(_statements(self.resolve(policy["Properties"]["PolicyDocument"])))
        for policy in self.of_type("AWS::S3::BucketPolicy").values():
            bucket = f"arn:aws:s3:::{self.resolve(policy['Properties']['Bucket'])}"
            if resource == bucket or resource.startswith(bucket + "/"):
                add(_statements(self.resolve(policy["Properties"]["PolicyDocument"])))
        for permission in self.of_type("AWS::Lambda::Permission").values():
            add([_permission_statement(self.resolve(permission["Properties"]))])
        for key_id, key in self.of_type("AWS::KMS::Key").items():
            if resource == self.attribute(key_id, "Arn"):
                return _statements(self.resolve(key["Properties"]["KeyPolicy"]))
        if resource in self.external_key_policies:
            return self.external_key_policies[resource]
        return found

    # ------------------------------------------------------------------ decisions

    def decide(self, request: Request) -> str | None:
        """None when AWS would allow the request; else why not."""
        context = {"aws:SecureTransport": True, "aws:PrincipalAccount": ACCOUNT, **request.context}
        if not request.principal.startswith("service:"):
            context.setdefault("aws:PrincipalArn", request.principal)
        identity = [] if request.principal.startswith("service:") else self.identity_statements(request.principal)
        if request.action.lower() == "sts:assumerole":
            resource_policy: list[dict[str, Any]] | None = self.trust_statements(request.resource)
        else:
            resource_policy = self.resource_statements(request.resource)
        applicable = [(s, True) for s in identity] + [
            (s, False) for s in resource_policy or [] if _principal_matches(s, request.principal)
        ]
        for statement, _ in applicable:
            if statement["Effect"] == "Deny" and _matches(statement, request, context):
                return f"explicitly denied by {json.dumps(statement)}"
        identity_allows = any(
            s["Effect"] == "Allow" and _matches(s, request, context) for s, is_identity in applicable if is_identity
        )
        direct = delegated = False
        for statement in resource_policy or []:
            if statement["Effect"] != "Allow" or not _matches(statement, request, context):
                continue
            if _principal_matches(statement, request.principal):
                direct = True
            elif _names_account(statement):
                delegated = True
        is_key = ":kms:" in request.resource and ":key/" in request.resource
        is_role_trust = request.action.lower() == "sts:assumerole"
        if is_key or is_role_trust:
            if direct or (delegated and identity_allows and not is_role_trust):
                return None
            return "no key policy (or trust policy) statement admits it" + (
                "" if identity_allows or request.principal.startswith("service:") else ", nor an identity policy"
            )
        if direct or identity_allows:
            return None
        if request.principal.startswith("service:"):
            return "no resource policy statement admits the service"
        return "no identity policy statement allows it"


def _statements(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    statements = document.get("Statement", [])
    return [dict(s) for s in ([statements] if isinstance(statements, dict) else statements)]


def _queue_arn(url: str) -> str:
    account, name = url.rstrip("/").split("/")[-2:]
    return f"arn:aws:sqs:{REGION}:{account}:{name}"


def _sns_default_statement(topic: str) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": ["SNS:Publish", "SNS:Subscribe", "SNS:GetTopicAttributes", "SNS:Receive"],
        "Resource": topic,
        "Condition": {"StringEquals": {"AWS:SourceOwner": ACCOUNT}},
    }


def _permission_statement(props: Mapping[str, Any]) -> dict[str, Any]:
    """An ``AWS::Lambda::Permission`` as the function's policy statement."""
    principal = props["Principal"]
    conditions: dict[str, dict[str, str]] = {}
    if "SourceArn" in props:
        conditions.setdefault("ArnLike", {})["aws:SourceArn"] = props["SourceArn"]
    if "SourceAccount" in props:
        conditions.setdefault("StringEquals", {})["aws:SourceAccount"] = props["SourceAccount"]
    function = props["FunctionName"]
    return {
        "Effect": "Allow",
        "Principal": {"Service": principal} if principal.endswith(".amazonaws.com") else {"AWS": principal},
        "Action": props["Action"],
        "Resource": [function, f"{function}:*"],
        "Condition": conditions,
    }


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _names_account(statement: Mapping[str, Any]) -> bool:
    principal = statement.get("Principal")
    return isinstance(principal, dict) and any(
        p in (ROOT, ACCOUNT) for p in _as_list(principal.get("AWS", []))
    )


def _principal_matches(statement: Mapping[str, Any], principal: str) -> bool:
    given = statement.get("Principal")
    if given is None:
        return False
    if given == "*":
        return True
    if principal.startswith("service:"):
        wanted = principal.removeprefix("service:")
        return wanted in _as_list(given.get("Service", [])) or "*" in _as_list(given.get("AWS", []))
    return any(p in ("*", principal) for p in _as_list(given.get("AWS", [])))


def _glob(pattern: str, value: str, *, case: bool = True) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


def _matches(statement: Mapping[str, Any], request: Request, context: Mapping[str, Any]) -> bool:
    if "Action" in statement:
        if not any(_glob(a, request.action, case=False) for a in _as_list(statement["Action"])):
            return False
    elif any(_glob(a, request.action, case=False) for a in _as_list(statement["NotAction"])):
        return False
    if "Resource" in statement:
        if not any(_glob(r, request.resource) for r in _as_list(statement["Resource"])):
            return False
    elif "NotResource" in statement and any(_glob(r, request.resource) for r in _as_list(statement["NotResource"])):
        return False
    return all(
        _condition(operator, key, _as_list(values), context)
        for operator, pairs in statement.get("Condition", {}).items()
        for key, values in pairs.items()
    )


def _lookup(context: Mapping[str, Any], key: str) -> Any:
    lowered = {k.lower(): v for k, v in context.items()}
    return lowered.get(key.lower())


def _condition(operator: str, key: str, wanted: list[Any], context: Mapping[str, Any]) -> bool:
    """One condition key under one operator (IAM's rules for missing keys and sets)."""
    value = _lookup(context, key)
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    if base == "Null":
        return (value is None) == (str(wanted[0]).lower() == "true")
    if value is None:
        return if_exists or qualifier == "ForAllValues"
    values = _as_list(value)
    negated = "Not" in base
    test = _operator(base.replace("Not", ""))
    if qualifier == "ForAllValues":
        return all(any(test(w, v) for w in wanted) for v in values)
    hit = any(test(w, v) for w in wanted for v in values)
    return not hit if negated else hit


def _operator(name: str) -> Any:
    tests = {
        "StringEquals": lambda w, v: str(w) == str(v),
        "StringEqualsIgnoreCase": lambda w, v: str(w).lower() == str(v).lower(),
        "StringLike": lambda w, v: _glob(str(w), str(v)),
        "ArnEquals": lambda w, v: str(w) == str(v),
        "ArnLike": lambda w, v: _glob(str(w), str(v)),
        "Bool": lambda w, v: str(w).lower() == str(v).lower(),
        "NumericEquals": lambda w, v: float(w) == float(v),
        "NumericLessThanEquals": lambda w, v: float(v) <= float(w),
    }
    if name not in tests:
        raise ValueError(f"condition operator {name} is not known to the evaluator")
    return tests[name]


def denied(template: Template, requests: Iterable[Request]) -> list[str]:
    """Every request AWS would refuse, each with the reason."""
    out = []
    for request in requests:
        reason = template.decide(request)
        if reason is not None:
            out.append(f"{request.describe()}: {reason}")
    return out


__all__ = ["ACCOUNT", "REGION", "Request", "Template", "denied", "service"]
