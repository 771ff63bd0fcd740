"""``eval export``: one run's rows of every store table as Parquet files, for a warehouse or object store.

DuckDB writes them (``COPY (SELECT ...) TO 'x.parquet' (FORMAT parquet)``): one file per table,
``<table>.parquet``, with the store's column names and types (JSON columns as JSON strings).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agentctl.core.errors import InputError
from agentctl.store.store import StoreHandle, open_store

EXPORTED_TABLES = ("eval_runs", "results", "steps", "scores", "cases", "metrics", "gates", "comparison_pairings",
                   "comparisons", "comparison_cases")
FORMATS = ("parquet",)


@dataclass(frozen=True)
class ExportedTable:
    table: str
    path: Path
    rows: int
    bytes: int


def export_run(db: StoreHandle, run_id: str, out_dir: Path, *, fmt: str = "parquet") -> list[ExportedTable]:
    """Write the run's rows of each table into ``out_dir`` (``db``: a Store or a path); returns what was written."""
    if fmt not in FORMATS:
        raise InputError(f"{fmt!r}: expected one of {', '.join(FORMATS)}", key="format")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with open_store(db, read_only=True) as store:
        row = store.get_run(run_id)
        if row is None:
            raise InputError(f"no run {run_id!r} in {store.path} (see 'agentctl eval list')")
        rid = row["run_id"]
        present = {r[0] for r in store.con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        for table in EXPORTED_TABLES:
            if table not in present:
                continue
            path = out_dir / f"{table}.{fmt}"
            # COPY takes no parameters: the run id is quoted as a SQL literal, the path likewise.
            query = f"SELECT * FROM {table} WHERE run_id = {_literal(rid)}"
            store.con.execute(f"COPY ({query}) TO {_literal(str(path))} (FORMAT parquet, COMPRESSION zstd)")
            count = store.con.execute(f"SELECT count(*) FROM ({query})").fetchone()
            written.append(ExportedTable(table, path, int(count[0]) if count else 0, path.stat().st_size))
    return written


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
