#!/usr/bin/env python3
"""The example app: the same lines the README shows. Synthesizes with no AWS account.

The AWS Solutions, HIPAA Security and NIST 800-53 R5 rule packs of cdk-nag run on every
synthesis: an unacknowledged finding makes synthesis fail.
"""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks

from omics_autoload_construct import OmicsAutoLoad


class SequencingIngestStack(cdk.Stack):
    def __init__(self, scope: cdk.App, id: str, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        self.auto_load = OmicsAutoLoad(self, "AutoLoad")


def build_app(outdir: str | None = None, *, nag: bool = True) -> cdk.App:
    app = cdk.App(outdir=outdir)
    SequencingIngestStack(app, "SequencingIngest")
    if nag:
        for pack in (AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks):
            cdk.Validations.of(app).add_plugins(pack(app))
    return app


if __name__ == "__main__":
    build_app(outdir="cdk.out").synth()
