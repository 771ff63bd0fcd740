"""The DuckDB results store."""

from agentctl.store.store import DEFAULT_DB, Store

__all__ = ["DEFAULT_DB", "Store"]
