"""omics-autoload-construct: import sequencing data from Amazon S3 into AWS HealthOmics."""

from .import_workflow import ImportWorkflow, PostImportAction
from .intake import Intake, TriggerMode
from .omics_autoload import OmicsAutoLoad, OrphanPolicy
from .starter import Starter
from .stores import ReferenceStore, SequenceStore
from .tracking_table import TrackingTable

__all__ = [
    "ImportWorkflow",
    "Intake",
    "OmicsAutoLoad",
    "OrphanPolicy",
    "PostImportAction",
    "ReferenceStore",
    "SequenceStore",
    "Starter",
    "TrackingTable",
    "TriggerMode",
]
