"""The handlers' settings, read once per Lambda environment from the variables the construct sets.

Variables (default in brackets):

* TABLE_NAME - tracking table [required]
* SEQUENCE_STORE_ID - sequence store that receives the read sets [required for imports]
* IMPORT_ROLE_ARN - service role HealthOmics assumes to read the objects [required for imports]
* REFERENCE_PARAMETER_NAME - SSM parameter holding the reference ARN, read at run time [""]
* REFERENCE_ARN - static reference ARN [""]; both empty: BAM/CRAM files are SKIPPED
* ASSEMBLY_OPTIONS - ``AssemblyOptions.to_json()`` [the defaults]
* STATE_MACHINE_ARN - the import workflow (starter; completion uses it to check batches) [""]
* METRICS_NAMESPACE - CloudWatch namespace [OmicsAutoLoad]
* ORPHAN_WINDOW_SECONDS - how long a mate waits for its partner [86400]
* FIRST_POLL_SECONDS - first status poll of an import job after its start [300]
* MAX_POLL_SECONDS - longest interval between two polls of one job [21600]
* LOG_IDENTIFIERS - "true" also logs subject/sample ids at INFO [false]
* SAMPLE_SHEET_NAME - sample sheet looked up in an object's folder [omics-samplesheet.csv]
* NOTIFICATION_TOPIC_ARN - SNS topic told of every file that fails (key, reason, job id) [""]
* POST_IMPORT_ACTION - KEEP | TAG | TRANSITION | DELETE, once the read set is ACTIVE [KEEP]
* STUCK_AFTER_SECONDS - a file in a non-final state this long counts as stuck [86400]
* MAX_CONCURRENT_IMPORT_JOBS - import jobs this pipeline runs at once (``capacity``) [10]
* OMICS_TPS - calls per second per HealthOmics API (``rate_limit``) [4]
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

from omics_autoload_runtime.domain.options import AssemblyOptions


class ConfigurationError(RuntimeError):
    """A variable the construct must set is missing or malformed (a deployment bug)."""


@dataclass(frozen=True)
class Config:
    table_name: str
    sequence_store_id: str
    import_role_arn: str
    reference_parameter_name: str
    reference_arn: str
    assembly_options: AssemblyOptions
    state_machine_arn: str
    metrics_namespace: str
    orphan_window_seconds: int
    first_poll_seconds: int
    max_poll_seconds: int
    log_identifiers: bool
    sample_sheet_name: str
    notification_topic_arn: str = ""
    post_import_action: str = "KEEP"
    stuck_after_seconds: int = 86400
    max_concurrent_import_jobs: int = 10
    omics_tps: float = 4.0

    @property
    def reference_configured(self) -> bool:
        """A reference is configured (its value may still be empty at run time)."""
        return bool(self.reference_arn or self.reference_parameter_name)

    def require(self, *names: str) -> None:
        missing = [name for name in names if not getattr(self, name)]
        if missing:
            env = ", ".join(name.upper() for name in missing)
            raise ConfigurationError(f"environment variable(s) {env} not set on this function")


def _int(name: str, default: int, minimum: int = 0) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ConfigurationError(f"{name}={text!r} is not a whole number") from None
    if value < minimum:
        raise ConfigurationError(f"{name}={value} must be at least {minimum}")
    return value


def _float(name: str, default: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ConfigurationError(f"{name}={text!r} is not a number") from None
    if not value > 0:
        raise ConfigurationError(f"{name}={value} must be positive")
    return value


def _options() -> AssemblyOptions:
    text = os.environ.get("ASSEMBLY_OPTIONS", "").strip()
    if not text:
        return AssemblyOptions()
    try:
        options = AssemblyOptions.from_json(text)
    except (ValueError, TypeError) as error:
        raise ConfigurationError(f"ASSEMBLY_OPTIONS is not valid: {error}") from None
    problems = options.problems()
    if problems:
        raise ConfigurationError("ASSEMBLY_OPTIONS is not valid: " + "; ".join(problems))
    return options


POST_IMPORT_ACTIONS = ("KEEP", "TAG", "TRANSITION", "DELETE")


def _post_import_action() -> str:
    value = os.environ.get("POST_IMPORT_ACTION", "").strip().upper() or "KEEP"
    if value not in POST_IMPORT_ACTIONS:
        raise ConfigurationError(f"POST_IMPORT_ACTION={value!r} is not one of {', '.join(POST_IMPORT_ACTIONS)}")
    return value


@functools.cache
def get() -> Config:
    env = os.environ
    return Config(
        table_name=env.get("TABLE_NAME", "").strip(),
        sequence_store_id=env.get("SEQUENCE_STORE_ID", "").strip(),
        import_role_arn=env.get("IMPORT_ROLE_ARN", "").strip(),
        reference_parameter_name=env.get("REFERENCE_PARAMETER_NAME", "").strip(),
        reference_arn=env.get("REFERENCE_ARN", "").strip(),
        assembly_options=_options(),
        state_machine_arn=env.get("STATE_MACHINE_ARN", "").strip(),
        metrics_namespace=env.get("METRICS_NAMESPACE", "").strip() or "OmicsAutoLoad",
        orphan_window_seconds=_int("ORPHAN_WINDOW_SECONDS", 86400),
        first_poll_seconds=_int("FIRST_POLL_SECONDS", 300, minimum=1),
        max_poll_seconds=_int("MAX_POLL_SECONDS", 21600, minimum=1),
        log_identifiers=env.get("LOG_IDENTIFIERS", "false").strip().lower() in ("1", "true", "yes"),
        sample_sheet_name=env.get("SAMPLE_SHEET_NAME", "omics-samplesheet.csv").strip(),  # "" = off
        notification_topic_arn=env.get("NOTIFICATION_TOPIC_ARN", "").strip(),
        post_import_action=_post_import_action(),
        stuck_after_seconds=_int("STUCK_AFTER_SECONDS", 86400, minimum=1),
        max_concurrent_import_jobs=_int("MAX_CONCURRENT_IMPORT_JOBS", 10, minimum=1),
        omics_tps=_float("OMICS_TPS", 4.0),
    )


def reset() -> None:
    """Forget the cached settings (tests change the environment between cases)."""
    get.cache_clear()
