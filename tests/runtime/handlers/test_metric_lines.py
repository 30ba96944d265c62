"""The metrics a user's alarm sees, read from the handlers' real output: EMF lines on
standard output (what Lambda sends to the function's log group), no CloudWatch call."""

from __future__ import annotations

from omics_autoload_runtime.adapters import clients
from support.emf import emf_lines, parse
from support.pipeline import Pipeline, run_without_state_machine


class NoCloudWatch:
    def __getattr__(self, name: str):
        raise AssertionError(f"the handlers must not call CloudWatch ({name})")


def _datums(text: str) -> list[dict]:
    return [d for line in emf_lines(text) for d in parse(line)]


def test_intake_and_finalize_write_the_alarm_metrics_to_stdout(capsys):
    with Pipeline() as pipe:
        clients.override("cloudwatch", NoCloudWatch())
        pipe.upload(["lines/S_R1.fq.gz", "lines/S_R2.fq.gz", "lines/u.ubam", "lines/notes.txt"])
        run_without_state_machine(pipe)
        assert {o["status"] for k, o in pipe.objects().items() if k != "lines/notes.txt"} == {"IMPORTED"}
        store = {"SequenceStoreId": pipe.store_id}
    out = capsys.readouterr().out
    datums = _datums(out)
    assert datums and all(d["namespace"] == "OmicsAutoLoadTest" for d in datums)
    assert all(d["dimensions"] == store for d in datums)  # the alarms' dimension set, nothing else

    def alarm_sum(name: str) -> float:
        return sum(v for d in datums if d["name"] == name for v in d["values"])

    assert alarm_sum("FilesReceived") == 4
    assert alarm_sum("FilesSkipped") == 1
    assert alarm_sum("FilesImported") == 3
    assert alarm_sum("FilesFailed") == 0
    # no sample name, key or bucket in any metric line
    for line in emf_lines(out):
        assert "lines/" not in line and "S_R1" not in line
