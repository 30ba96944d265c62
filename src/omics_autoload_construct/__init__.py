"""omics-autoload-construct: import sequencing data from Amazon S3 into AWS HealthOmics."""

from .omics_autoload import OmicsAutoLoad
from .stores import ReferenceStore, SequenceStore
from .tracking_table import TrackingTable

__all__ = [
    "OmicsAutoLoad",
    "ReferenceStore",
    "SequenceStore",
    "TrackingTable",
]
