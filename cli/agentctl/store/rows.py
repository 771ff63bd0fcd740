"""The rows a results store writes: a finished run's result, steps and scores as table rows,
the columns this version expects, and the plain inserts that write them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

import duckdb

from agentctl.core.results import RunResult, ScoreResult
from agentctl.core.trajectory import Trajectory
from agentctl.store.schema import ADDED_COLUMNS, TABLES

COLUMNAR_FROM_ROWS = 64
"""Batches at least this big are written column by column (smaller ones bind parameters)."""


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def to_json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)


_EXPECTED: dict[str, set[str]] = {}


def expected_columns() -> dict[str, set[str]]:
    """Columns of every table as this version creates them (the original DDL; added columns are migrated)."""
    if not _EXPECTED:
        with duckdb.connect(":memory:") as con:
            for ddl in TABLES.values():
                con.execute(ddl)
            for table, column in con.execute("SELECT table_name, column_name FROM information_schema.columns "
                                             "WHERE table_schema = 'main'").fetchall():
                _EXPECTED.setdefault(table, set()).add(column)
        for table, column, _ in ADDED_COLUMNS:  # an older store gets these by migration
            _EXPECTED.get(table, set()).discard(column)
    return _EXPECTED



_RESULT_FIELDS = tuple(f.name for f in fields(RunResult) if f.name != "scores")


def result_row(r: RunResult, finished: datetime) -> dict[str, Any]:
    # Field by field (``asdict`` deep-copied every list and score: most of a commit's CPU).
    row = {k: getattr(r, k) for k in _RESULT_FIELDS}
    row["reasons"], row["tags"] = list(r.reasons), list(r.tags)
    row["finished_at"] = finished
    row["state_diff"] = to_json(r.state_diff)
    return row


def step_rows(r: RunResult, t: Trajectory) -> list[dict[str, Any]]:
    rows = []
    for s in t.steps:
        rows.append({
            "run_id": r.run_id, "case_id": r.case_id, "candidate": r.candidate, "repeat": r.repeat,
            "step": s.index, "kind": s.kind, "tool": s.tool,
            "args": to_json(s.args) if s.args is not None else (to_json(s.raw_args) if s.raw_args else None),
            "output": s.output, "content": s.content,
            "tool_calls": to_json([{"id": c.id, "name": c.name, "arguments": c.raw_arguments} for c in s.tool_calls])
            if s.tool_calls else None,
            "effect": s.effect, "error": s.error, "policy": s.policy, "invalid": s.invalid,
            "divergence": s.divergence, "prompt_tokens": s.prompt_tokens,
            "completion_tokens": s.completion_tokens, "cost_usd": s.cost_usd, "latency_s": s.latency_s,
            "cached": s.cached, "attempts": s.attempts if s.kind in ("model", "user") else None,
            "answered_by": s.answered_by, "traceback": s.traceback, "env_output": s.env_output,
            "policy_notes": list(s.policy_notes) or None,
        })
    return rows


def score_row(r: RunResult, s: ScoreResult) -> dict[str, Any]:
    return {
        "run_id": r.run_id, "case_id": r.case_id, "candidate": r.candidate, "repeat": r.repeat,
        "scorer": s.scorer, "score": s.score, "passed": s.passed, "reason": s.reason,
        "cost_usd": s.cost_usd, "error": s.error,
    }


def _columns(rows: list[dict[str, Any]], columns: list[str]) -> dict[str, Any]:
    """Rows as columns DuckDB scans in place: one numpy object array per column (numpy is
    imported anyway for the statistics; pyarrow's import alone cost more than a whole commit)."""
    import numpy as np

    out = {}
    for c in columns:
        col = np.empty(len(rows), dtype=object)
        col[:] = [r.get(c) for r in rows]  # element-wise: a list value stays one cell
        out[c] = col
    return out


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> Iterator[str]:
    """Rows as a temporary view, for set-based statements."""
    name = f"_agentctl_rows_{id(rows)}"
    # DuckDB types an object column from a sample of its values: a sample of empty ``reasons``
    # lists typed the column LIST(NULL) and the first real reason then failed the insert.
    # Typing from every value costs microseconds per thousand rows.
    con.execute(f"SET pandas_analyze_sample = {max(1000, len(rows))}")
    con.register(name, _columns(rows, list(rows[0])))
    try:
        yield name
    finally:
        con.unregister(name)


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table``: columnar for big batches."""
    if not rows:
        return
    columns = list(rows[0])
    cols = ",".join(columns)
    if len(rows) >= COLUMNAR_FROM_ROWS:
        # Columnar: orders of magnitude faster than binding parameters row by row.
        with registered(con, rows) as name:
            con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {name}")
        return
    placeholders = "(" + ",".join("?" * len(columns)) + ")"
    # One multi-row INSERT per chunk: much faster than executemany in DuckDB.
    chunk = max(1, 2000 // len(columns))
    for i in range(0, len(rows), chunk):
        part = rows[i : i + chunk]
        sql = f"INSERT INTO {table} ({cols}) VALUES " + ",".join([placeholders] * len(part))
        con.execute(sql, [r.get(c) for r in part for c in columns])
