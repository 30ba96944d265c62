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
* reference_arn - static reference ARN; both empty (and no references): BAM/CRAM files are SKIPPED
* references - ``domain.references.ReferenceSet`` (as JSON): several references, their key rules and
  contigs; when set it is the whole choice (the single reference above is in it, as ``default``)
* assembly_options - ``AssemblyOptions`` (as JSON)
* state_machine_arn - the import workflow (starter; the sweep uses it to check batches)
* gather_queue_url - the starter's gather queue: read sets that arrive while a burst is under
  way wait there to fill bigger jobs (``logic.starter``); empty: every batch starts at once
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
* bucket_name - the watched bucket (reconciliation lists it)
* key_prefixes - the watched key prefixes, a JSON list ([] = the whole bucket); intake skips other keys
* key_suffixes - the watched key suffixes, a JSON list ([] = every key); reconciliation lists only these
* inventory_bucket, inventory_prefix - where the bucket's S3 Inventory reports land (reconciliation reads them)
* reconcile_pages_per_run - pages of 1,000 object versions one reconciliation run reads at most
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
from omics_autoload_runtime.domain.references import Reference, ReferenceSet


class ConfigurationError(RuntimeError):
    """A variable the construct must set is missing or malformed (a deployment bug)."""


@dataclass(frozen=True)
class Settings:
    table_name: str = ""
    sequence_store_id: str = ""
    import_role_arn: str = ""
    reference_parameter_name: str = ""
    reference_arn: str = ""
    references: ReferenceSet = field(default_factory=ReferenceSet)
    assembly_options: AssemblyOptions = field(default_factory=AssemblyOptions)
    state_machine_arn: str = ""
    gather_queue_url: str = ""
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
    bucket_name: str = ""
    key_prefixes: tuple[str, ...] = ()
    key_suffixes: tuple[str, ...] = ()
    inventory_bucket: str = ""
    inventory_prefix: str = ""
    reconcile_pages_per_run: int = contract.RECONCILE_PAGES_PER_RUN
    require_sheet_prefixes: tuple[str, ...] = ()
    sheet_wait_seconds: int = contract.SHEET_WAIT_SECONDS
    run_complete_marker: str = ""

    @property
    def reference_configured(self) -> bool:
        """A reference is configured (its value may still be empty at run time)."""
        return bool(self.reference_arn or self.reference_parameter_name or self.references.configured)

    def reference_set(self) -> ReferenceSet:
        """The references BAM/CRAM files are chosen among: ``references``, else the single one."""
        if self.references.configured or not (self.reference_arn or self.reference_parameter_name):
            return self.references
        single = Reference("default", arn=self.reference_arn, parameter_name=self.reference_parameter_name)
        return ReferenceSet((single,))

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
            references=reader.references(),
            assembly_options=reader.options(),
            state_machine_arn=reader.text(Env.STATE_MACHINE_ARN),
            gather_queue_url=reader.text(Env.GATHER_QUEUE_URL),
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
            bucket_name=reader.text(Env.BUCKET_NAME),
            key_prefixes=reader.strings(Env.KEY_PREFIXES),
            key_suffixes=reader.strings(Env.KEY_SUFFIXES),
            inventory_bucket=reader.text(Env.INVENTORY_BUCKET),
            inventory_prefix=reader.text(Env.INVENTORY_PREFIX),
            reconcile_pages_per_run=reader.whole(
                Env.RECONCILE_PAGES_PER_RUN, contract.RECONCILE_PAGES_PER_RUN, minimum=1
            ),
            require_sheet_prefixes=reader.prefixes(Env.REQUIRE_SHEET_PREFIXES),
            sheet_wait_seconds=reader.whole(Env.SHEET_WAIT_SECONDS, contract.SHEET_WAIT_SECONDS, minimum=1),
            run_complete_marker=reader.text(Env.RUN_COMPLETE_MARKER),
        )


Config = Settings  # the former name, until every caller says Settings


def _text(value: object) -> str:
    if isinstance(value, (AssemblyOptions, SheetColumns, ReferenceSet)):
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

    def strings(self, name: Env) -> tuple[str, ...]:
        text = self.text(name)
        if not text:
            return ()
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ConfigurationError(f"{name}={text!r} is not a JSON list of strings")
        return tuple(value)

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

    def references(self) -> ReferenceSet:
        text = self.text(Env.REFERENCES)
        try:
            found = ReferenceSet.from_json(text) if text else ReferenceSet()
        except (ValueError, TypeError, KeyError, IndexError) as error:
            raise ConfigurationError(f"{Env.REFERENCES} is not valid: {error!r}") from None
        problems = found.problems()
        if problems:
            raise ConfigurationError(f"{Env.REFERENCES} is not valid: " + "; ".join(problems))
        return found

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
