"""The pipeline's settings: written by the construct, read once per Lambda environment by the handlers.

One typed object travels both ways, so neither side spells a variable name: the construct
builds every function's ``environment`` with :meth:`Settings.to_environment`, the handlers
read it back with :func:`get` (:meth:`Settings.from_environment` on ``os.environ``). Each
field is one variable, its name upper-cased (``contract.Env``); an unset or empty variable
takes the field's default.

* table_name - tracking table [required]
* sequence_store_id - sequence store that receives the read sets [required for imports]
* import_role_arn - service role HealthOmics assumes to read the objects [required for imports]
* reference_parameter_name - SSM parameter holding the reference ARN, read at run time
* reference_arn - static reference ARN; both empty: BAM/CRAM files are SKIPPED
* assembly_options - ``AssemblyOptions`` (as JSON)
* state_machine_arn - the import workflow (starter; the sweep uses it to check batches)
* metrics_namespace - CloudWatch namespace
* orphan_window_seconds - how long a mate waits for its partner
* first_poll_seconds - first status poll of an import job after its start
* max_poll_seconds - longest interval between two polls of one job
* log_identifiers - also log subject/sample ids at INFO
* sample_sheet_name - sample sheet looked up in an object's folder ("" = no lookup)
* illumina_sheet_name - Illumina sample sheet looked up in an object's run folder ("" = no lookup)
* illumina_sheet_columns - ``SheetColumns`` (as JSON): which sheet column feeds which field
* notification_topic_arn - SNS topic told of every file that fails (key, reason, job id)
* post_import_action - what happens to a source object once its read set is ACTIVE
* stuck_after_seconds - a file in a non-final state this long counts as stuck
* max_concurrent_import_jobs - import jobs this pipeline runs at once (``import_slots``)
* omics_calls_per_second - calls per second per HealthOmics API (``rate_limit``)
* reupload_policy - what a new version of an already imported object becomes (``contract.ReuploadPolicy``)
* require_sheet_prefixes - files under these key prefixes wait for their run's Illumina sheet
  (as JSON; ``[""]`` = every file; empty = none wait)
* sheet_wait_seconds - how long such a file waits before it ends FAILED
* run_complete_marker - a file (path relative to the run folder, e.g. ``CopyComplete.txt``)
  that waiting files also wait for ("" = none)
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

from omics_autoload_runtime import contract
from omics_autoload_runtime.contract import Env, PostImportAction, ReuploadPolicy
from omics_autoload_runtime.domain.illumina_sheet import SheetColumns
from omics_autoload_runtime.domain.options import AssemblyOptions


class ConfigurationError(RuntimeError):
    """A variable the construct must set is missing or malformed (a deployment bug)."""


@dataclass(frozen=True)
class Settings:
    table_name: str = ""
    sequence_store_id: str = ""
    import_role_arn: str = ""
    reference_parameter_name: str = ""
    reference_arn: str = ""
    assembly_options: AssemblyOptions = field(default_factory=AssemblyOptions)
    state_machine_arn: str = ""
    metrics_namespace: str = contract.METRICS_NAMESPACE
    orphan_window_seconds: int = contract.ORPHAN_WINDOW_SECONDS
    first_poll_seconds: int = contract.FIRST_POLL_SECONDS
    max_poll_seconds: int = contract.MAX_POLL_SECONDS
    log_identifiers: bool = False
    sample_sheet_name: str = contract.SAMPLE_SHEET_NAME
    illumina_sheet_name: str = contract.ILLUMINA_SHEET_NAME
    illumina_sheet_columns: SheetColumns = field(default_factory=SheetColumns)
    notification_topic_arn: str = ""
    post_import_action: PostImportAction = PostImportAction.KEEP
    stuck_after_seconds: int = contract.STUCK_AFTER_SECONDS
    max_concurrent_import_jobs: int = contract.MAX_CONCURRENT_IMPORT_JOBS
    omics_calls_per_second: float = contract.OMICS_CALLS_PER_SECOND
    reupload_policy: ReuploadPolicy = ReuploadPolicy.IMPORT_AS_NEW
    require_sheet_prefixes: tuple[str, ...] = ()
    sheet_wait_seconds: int = contract.SHEET_WAIT_SECONDS
    run_complete_marker: str = ""

    @property
    def reference_configured(self) -> bool:
        """A reference is configured (its value may still be empty at run time)."""
        return bool(self.reference_arn or self.reference_parameter_name)

    def require(self, *names: str) -> None:
        missing = [name for name in names if not getattr(self, name)]
        if missing:
            env = ", ".join(Env[name.upper()] for name in missing)
            raise ConfigurationError(f"environment variable(s) {env} not set on this function")

    def replace(self, **changes: object) -> Settings:
        """A copy with some fields changed (a part adds what only it knows, e.g. a role ARN)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def to_environment(self) -> dict[str, str]:
        """Every variable, as a Lambda function's ``environment`` (values may be CDK tokens)."""
        return {str(Env[f.name.upper()]): _text(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Settings:
        """Parse and check the variables; raises :class:`ConfigurationError` on a malformed one."""
        reader = _Reader(environ)
        return cls(
            table_name=reader.text(Env.TABLE_NAME),
            sequence_store_id=reader.text(Env.SEQUENCE_STORE_ID),
            import_role_arn=reader.text(Env.IMPORT_ROLE_ARN),
            reference_parameter_name=reader.text(Env.REFERENCE_PARAMETER_NAME),
            reference_arn=reader.text(Env.REFERENCE_ARN),
            assembly_options=reader.options(),
            state_machine_arn=reader.text(Env.STATE_MACHINE_ARN),
            metrics_namespace=reader.text(Env.METRICS_NAMESPACE) or contract.METRICS_NAMESPACE,
            orphan_window_seconds=reader.whole(Env.ORPHAN_WINDOW_SECONDS, contract.ORPHAN_WINDOW_SECONDS),
            first_poll_seconds=reader.whole(Env.FIRST_POLL_SECONDS, contract.FIRST_POLL_SECONDS, minimum=1),
            max_poll_seconds=reader.whole(Env.MAX_POLL_SECONDS, contract.MAX_POLL_SECONDS, minimum=1),
            log_identifiers=reader.text(Env.LOG_IDENTIFIERS).lower() in ("1", "true", "yes"),
            # Unlike the others, an empty value is meaningful: no sample sheet lookup.
            sample_sheet_name=environ.get(Env.SAMPLE_SHEET_NAME, contract.SAMPLE_SHEET_NAME).strip(),
            illumina_sheet_name=environ.get(Env.ILLUMINA_SHEET_NAME, contract.ILLUMINA_SHEET_NAME).strip(),
            illumina_sheet_columns=reader.sheet_columns(),
            notification_topic_arn=reader.text(Env.NOTIFICATION_TOPIC_ARN),
            post_import_action=reader.choice(Env.POST_IMPORT_ACTION, PostImportAction, PostImportAction.KEEP),
            stuck_after_seconds=reader.whole(Env.STUCK_AFTER_SECONDS, contract.STUCK_AFTER_SECONDS, minimum=1),
            max_concurrent_import_jobs=reader.whole(
                Env.MAX_CONCURRENT_IMPORT_JOBS, contract.MAX_CONCURRENT_IMPORT_JOBS, minimum=1
            ),
            omics_calls_per_second=reader.positive(Env.OMICS_CALLS_PER_SECOND, contract.OMICS_CALLS_PER_SECOND),
            reupload_policy=reader.choice(Env.REUPLOAD_POLICY, ReuploadPolicy, ReuploadPolicy.IMPORT_AS_NEW),
            require_sheet_prefixes=reader.prefixes(Env.REQUIRE_SHEET_PREFIXES),
            sheet_wait_seconds=reader.whole(Env.SHEET_WAIT_SECONDS, contract.SHEET_WAIT_SECONDS, minimum=1),
            run_complete_marker=reader.text(Env.RUN_COMPLETE_MARKER),
        )


Config = Settings  # the former name, until every caller says Settings


def _text(value: object) -> str:
    if isinstance(value, (AssemblyOptions, SheetColumns)):
        return value.to_json()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return json.dumps(list(value)) if value else ""
    return str(value)


_Choice = TypeVar("_Choice", bound=StrEnum)


class _Reader:
    """Reads one variable at a time, naming it in the error when it is malformed."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ

    def text(self, name: Env) -> str:
        return self.environ.get(name, "").strip()

    def whole(self, name: Env, default: int, minimum: int = 0) -> int:
        text = self.text(name)
        if not text:
            return default
        try:
            value = int(text)
        except ValueError:
            raise ConfigurationError(f"{name}={text!r} is not a whole number") from None
        if value < minimum:
            raise ConfigurationError(f"{name}={value} must be at least {minimum}")
        return value

    def positive(self, name: Env, default: float) -> float:
        text = self.text(name)
        if not text:
            return default
        try:
            value = float(text)
        except ValueError:
            raise ConfigurationError(f"{name}={text!r} is not a number") from None
        if not value > 0:
            raise ConfigurationError(f"{name}={value} must be positive")
        return value

    def options(self) -> AssemblyOptions:
        text = self.text(Env.ASSEMBLY_OPTIONS)
        if not text:
            return AssemblyOptions()
        try:
            options = AssemblyOptions.from_json(text)
        except (ValueError, TypeError) as error:
            raise ConfigurationError(f"{Env.ASSEMBLY_OPTIONS} is not valid: {error}") from None
        problems = options.problems()
        if problems:
            raise ConfigurationError(f"{Env.ASSEMBLY_OPTIONS} is not valid: " + "; ".join(problems))
        return options

    def sheet_columns(self) -> SheetColumns:
        text = self.text(Env.ILLUMINA_SHEET_COLUMNS)
        try:
            return SheetColumns.from_json(text) if text else SheetColumns()
        except (ValueError, TypeError) as error:
            raise ConfigurationError(f"{Env.ILLUMINA_SHEET_COLUMNS} is not valid: {error}") from None

    def prefixes(self, name: Env) -> tuple[str, ...]:
        text = self.text(name)
        try:
            value = json.loads(text) if text else []
        except ValueError:
            value = None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigurationError(f"{name}={text!r} is not a JSON list of key prefixes") from None
        return tuple(value)

    def choice(self, name: Env, values: type[_Choice], default: _Choice) -> _Choice:
        value = self.text(name).upper() or default
        try:
            return values(value)
        except ValueError:
            allowed = ", ".join(values)
            raise ConfigurationError(f"{name}={value!r} is not one of {allowed}") from None


@functools.cache
def get() -> Settings:
    """This function's settings, read once per Lambda environment."""
    return Settings.from_environment(os.environ)


def reset() -> None:
    """Forget the cached settings (tests change the environment between cases)."""
    get.cache_clear()
