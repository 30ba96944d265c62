"""omics-autoload-construct: import sequencing data from Amazon S3 into AWS HealthOmics."""

from .import_workflow import ImportWorkflow, PostImportAction
from .intake import Intake, TriggerMode
from .omics_autoload import OmicsAutoLoad, OrphanPolicy
from .reference_genome import IReferenceGenome, ReferenceGenome
from .starter import Starter
from .stores import IReferenceStore, ISequenceStore, ReferenceStore, SequenceStore
from .tracking_table import TrackingTable

__all__ = [
    "IReferenceGenome",
    "IReferenceStore",
    "ISequenceStore",
    "ImportWorkflow",
    "Intake",
    "OmicsAutoLoad",
    "OrphanPolicy",
    "PostImportAction",
    "ReferenceGenome",
    "ReferenceStore",
    "SequenceStore",
    "Starter",
    "TrackingTable",
    "TriggerMode",
]
