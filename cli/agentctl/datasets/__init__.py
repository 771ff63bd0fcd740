"""Golden cases, recorded runs and tool catalogs: models, readers and cross-checks."""

from __future__ import annotations

from agentctl.datasets.loader import DatasetFiles, dataset_hash, load_dataset, read_dataset
from agentctl.datasets.models import Dataset
from agentctl.datasets.validate import check_dataset, validate_dataset_dir

__all__ = [
    "Dataset",
    "DatasetFiles",
    "check_dataset",
    "dataset_hash",
    "load_dataset",
    "read_dataset",
    "validate_dataset_dir",
]
