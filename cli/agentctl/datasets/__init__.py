"""Golden cases, recorded runs and tool catalogs: models, readers and cross-checks.

Names are loaded on first use, so that importing ``agentctl.datasets.models`` stays cheap
and the readers (which use ``agentctl.config.yamlpos``) never import in a circle.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_WHERE = {
    "Dataset": "agentctl.datasets.models",
    "DatasetFiles": "agentctl.datasets.loader",
    "dataset_hash": "agentctl.datasets.loader",
    "load_dataset": "agentctl.datasets.loader",
    "read_dataset": "agentctl.datasets.loader",
    "check_dataset": "agentctl.datasets.validate",
    "validate_dataset_dir": "agentctl.datasets.validate",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'agentctl.datasets' has no attribute {name!r}")
