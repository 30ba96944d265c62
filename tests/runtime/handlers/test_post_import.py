"""post_import: the post-import action after Finalize, within the shared rate limit."""

from __future__ import annotations

from omics_autoload_runtime.adapters import clients
from support.pipeline import EmfLog, Pipeline, RecordingStepFunctions, _starter_inputs


def test_post_import_read_set_checks_of_one_finalize_stay_within_the_rate_limit():
    with Pipeline(env={"POST_IMPORT_ACTION": "TAG"}, job_duration_seconds=600) as pipe:
        EmfLog().install()
        clients.override("stepfunctions", RecordingStepFunctions())
        pipe.upload([f"p/f{i:02d}.ubam" for i in range(12)])
        (batch,) = _starter_inputs(pipe)
        out = pipe.invoke("import_start", batch)
        assert len(out["readSetKeys"]) == 12
        pipe.double.advance(700)
        pipe.double.tps_limit = 5  # the service's quota: a burst over it is throttled
        pipe.invoke("import_finalize", out)
        assert pipe.double.api_calls("GetReadSetMetadata") >= 12
        notes = {key: (item.get("postImport"), item.get("postImportNote")) for key, item in pipe.objects().items()}
        assert all(post == "DONE" for post, _ in notes.values()), notes
