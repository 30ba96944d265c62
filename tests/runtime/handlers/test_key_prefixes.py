"""intake refuses, with a reason, an object outside the watched prefixes if one ever reaches it."""

from __future__ import annotations

import json

import pytest
from omics_autoload_runtime import contract
from omics_autoload_runtime.adapters import tracking
from omics_autoload_runtime.settings import ConfigurationError, Settings
from support.pipeline import EmfLog, Pipeline


@pytest.fixture
def pipe():
    with Pipeline(env={contract.Env.KEY_PREFIXES: json.dumps(["runs/", "aligned/"])}) as pipeline:
        pipeline.cloudwatch = EmfLog().install()
        yield pipeline


def test_an_object_outside_the_watched_prefixes_is_skipped_unread(pipe):
    inside = [pipe.put("runs/r1/A_R1.fastq.gz"), pipe.put("aligned/B.fastq.gz")]
    outside = pipe.put("other-team/C.fastq.gz")
    pipe.deliver([*inside, outside])
    objects = pipe.objects()
    assert objects["runs/r1/A_R1.fastq.gz"]["status"] == tracking.WAITING_FOR_MATE
    assert objects["aligned/B.fastq.gz"]["status"] == tracking.QUEUED
    item = objects["other-team/C.fastq.gz"]
    assert item["status"] == tracking.SKIPPED
    assert "outside the watched key prefixes (runs/, aligned/)" in item["reason"]
    assert "add its prefix to key_prefixes" in item["reason"]
    assert not item.get("readSetKey")
    assert pipe.cloudwatch.total(contract.Metric.FILES_SKIPPED, Reason=contract.SkipCode.OUTSIDE_PREFIX) == 1


def test_a_second_delivery_changes_nothing(pipe):
    outside = pipe.put("other-team/C.fastq.gz")
    pipe.deliver([outside], duplicates=True)
    (item,) = pipe.items(tracking.KIND_OBJECT)
    assert item["status"] == tracking.SKIPPED


def test_the_prefixes_travel_as_a_json_list():
    env = Settings(key_prefixes=("runs/", "a,b/")).to_environment()
    assert env[contract.Env.KEY_PREFIXES] == '["runs/", "a,b/"]'
    assert Settings.from_environment(env).key_prefixes == ("runs/", "a,b/")
    assert Settings.from_environment({}).key_prefixes == ()
    with pytest.raises(ConfigurationError, match="KEY_PREFIXES"):
        Settings.from_environment({contract.Env.KEY_PREFIXES: "runs/"})
