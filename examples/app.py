#!/usr/bin/env python3
"""The example app: the same lines the README shows. Synthesizes with no AWS account."""

import aws_cdk as cdk

from omics_autoload_construct import OmicsAutoLoad


class SequencingIngestStack(cdk.Stack):
    def __init__(self, scope: cdk.App, id: str, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        OmicsAutoLoad(self, "AutoLoad")


def build_app(outdir: str | None = None) -> cdk.App:
    app = cdk.App(outdir=outdir)
    SequencingIngestStack(app, "SequencingIngest")
    return app


if __name__ == "__main__":
    build_app(outdir="cdk.out").synth()
