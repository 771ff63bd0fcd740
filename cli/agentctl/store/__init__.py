"""The DuckDB results store."""

from agentctl.store.store import DEFAULT_DB, Store, StoreHandle, open_store

__all__ = ["DEFAULT_DB", "Store", "StoreHandle", "open_store"]
