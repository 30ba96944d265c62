"""omics-autoload-construct: import sequencing data from Amazon S3 into AWS HealthOmics."""

from omics_autoload_runtime.contract import ReuploadPolicy
from omics_autoload_runtime.settings import Settings

from .batch_operations import BatchOperations
from .import_workflow import ImportWorkflow
from .intake import Intake, TriggerMode
from .omics_autoload import OmicsAutoLoad, OrphanPolicy
from .post_import import PostImportAction
from .reconciliation import ObjectReconciliation, Reconciliation
from .reference_genome import Contigs, IReferenceGenome, ReferenceGenome
from .starter import Starter
from .stores import IReferenceStore, ISequenceStore, ReferenceStore, SequenceStore
from .tracking_table import TrackingTable

__all__ = [
    "BatchOperations",
    "Contigs",
    "IReferenceGenome",
    "IReferenceStore",
    "ISequenceStore",
    "ImportWorkflow",
    "Intake",
    "ObjectReconciliation",
    "OmicsAutoLoad",
    "OrphanPolicy",
    "PostImportAction",
    "Reconciliation",
    "ReferenceGenome",
    "ReferenceStore",
    "ReuploadPolicy",
    "SequenceStore",
    "Settings",
    "Starter",
    "TrackingTable",
    "TriggerMode",
]
