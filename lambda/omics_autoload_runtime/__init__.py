"""Runtime code of omics-autoload-construct, shipped as a Lambda asset (stdlib only)."""
