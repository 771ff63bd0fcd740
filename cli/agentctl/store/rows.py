"""The rows a results store writes: a finished run's result, steps and scores as table rows,
the columns this version expects, and the plain inserts that write them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, fields
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


_ENCODE = json.JSONEncoder(ensure_ascii=False, default=str).encode
"""``json.dumps(value, ensure_ascii=False, default=str)`` without building an encoder per call."""


def to_json(value: Any) -> str | None:
    return None if value is None else _ENCODE(value)


_EXPECTED: dict[str, set[str]] = {}
_COLUMN_LINE = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s+[A-Z]")
"""A column's line of our DDL: its name in lower case, then its type (a constraint's line,
``PRIMARY KEY (...)``, starts with an upper-case keyword)."""


def expected_columns() -> dict[str, set[str]]:
    """Columns of every table as this version creates them (the original DDL; added columns are
    migrated), read off the DDL's text: asking DuckDB (an in-memory database, the DDL run in
    it) cost 48 ms of every command that opens a store. A test keeps the two the same."""
    if not _EXPECTED:
        for table, ddl in TABLES.items():
            body = ddl[ddl.index("(") + 1 : ddl.rindex(")")]
            _EXPECTED[table] = {m.group(1) for line in body.splitlines()
                                if (m := _COLUMN_LINE.match(line))}
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


STEP_COLUMNS = (
    "run_id", "case_id", "candidate", "repeat", "step", "kind", "tool", "args", "output", "content",
    "tool_calls", "effect", "error", "policy", "invalid", "divergence", "prompt_tokens", "completion_tokens",
    "cost_usd", "latency_s", "cached", "attempts", "answered_by", "traceback", "env_output", "policy_notes",
)
"""The ``steps`` columns :func:`step_values` gives, in its order."""


def step_values(r: RunResult, t: Trajectory) -> list[tuple[Any, ...]]:
    """The ``steps`` rows of a run as tuples in :data:`STEP_COLUMNS` order (a commit writes
    them column by column: no dict per step to build and take apart again)."""
    key = (r.run_id, r.case_id, r.candidate, r.repeat)
    return [(
        *key, s.index, s.kind, s.tool,
        to_json(s.args) if s.args is not None else (to_json(s.raw_args) if s.raw_args else None),
        s.output, s.content,
        to_json([{"id": c.id, "name": c.name, "arguments": c.raw_arguments} for c in s.tool_calls])
        if s.tool_calls else None,
        s.effect, s.error, s.policy, s.invalid, s.divergence, s.prompt_tokens, s.completion_tokens,
        s.cost_usd, s.latency_s, s.cached, s.attempts if s.kind in ("model", "user") else None,
        s.answered_by, s.traceback, s.env_output, list(s.policy_notes) or None,
    ) for s in t.steps]


def step_rows(r: RunResult, t: Trajectory) -> list[dict[str, Any]]:
    """The ``steps`` rows of a run as dicts."""
    return [dict(zip(STEP_COLUMNS, v, strict=True)) for v in step_values(r, t)]


def score_row(r: RunResult, s: ScoreResult) -> dict[str, Any]:
    return {
        "run_id": r.run_id, "case_id": r.case_id, "candidate": r.candidate, "repeat": r.repeat,
        "scorer": s.scorer, "score": s.score, "passed": s.passed, "reason": s.reason,
        "cost_usd": s.cost_usd, "error": s.error,
    }


def _arrays(columns: Mapping[str, Sequence[Any]], n: int) -> dict[str, Any]:
    """Columns as DuckDB scans them in place: one numpy object array each (numpy is imported
    anyway for the statistics; pyarrow's import alone cost more than a whole commit)."""
    import numpy as np

    return {name: np.fromiter(values, dtype=object, count=n)  # a list value stays one cell
            for name, values in columns.items()}


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> Iterator[str]:
    """Rows as a temporary view, for set-based statements."""
    with registered_columns(con, {c: [r.get(c) for r in rows] for c in rows[0]}, len(rows)) as name:
        yield name


@contextmanager
def registered_columns(con: duckdb.DuckDBPyConnection, columns: Mapping[str, Sequence[Any]], n: int) -> Iterator[str]:
    """Columns (``n`` values each) as a temporary view, for set-based statements."""
    name = f"_agentctl_rows_{id(columns)}"
    # DuckDB types an object column from a sample of its values: a sample of empty ``reasons``
    # lists typed the column LIST(NULL) and the first real reason then failed the insert.
    # Typing from every value costs microseconds per thousand rows.
    con.execute(f"SET pandas_analyze_sample = {max(1000, n)}")
    con.register(name, _arrays(columns, n))
    try:
        yield name
    except BaseException:
        # A failed statement aborted the transaction, where unregistering fails too: the
        # caller's error is the one to raise (the view goes with the connection, or the next
        # registration of its name).
        with suppress(duckdb.Error):
            con.unregister(name)
        raise
    con.unregister(name)


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table``: columnar for big batches."""
    if rows:
        columns = list(rows[0])
        insert_values(con, table, columns, [tuple(r.get(c) for c in columns) for r in rows])


def insert_values(con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str],
                  rows: list[tuple[Any, ...]]) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) into ``table``: columnar for big batches."""
    if not rows:
        return
    cols = ",".join(columns)
    if len(rows) >= COLUMNAR_FROM_ROWS:
        # Columnar: orders of magnitude faster than binding parameters row by row.
        by_column = dict(zip(columns, zip(*rows, strict=True), strict=True))
        with registered_columns(con, by_column, len(rows)) as name:
            con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {name}")
        return
    placeholders = "(" + ",".join("?" * len(columns)) + ")"
    # One multi-row INSERT per chunk: much faster than executemany in DuckDB.
    chunk = max(1, 2000 // len(columns))
    for i in range(0, len(rows), chunk):
        part = rows[i : i + chunk]
        sql = f"INSERT INTO {table} ({cols}) VALUES " + ",".join([placeholders] * len(part))
        con.execute(sql, [v for r in part for v in r])


ResultKey = tuple[str, str, str, int]
"""(run_id, case_id, candidate, repeat): a finished run."""


@dataclass(frozen=True, slots=True)
class RunRows:
    """A finished run as the rows a commit writes: built as the run finishes (where it costs
    the runs the same), so that a commit only hands them over."""

    key: ResultKey
    result: dict[str, Any]
    steps: list[tuple[Any, ...]]
    scores: list[dict[str, Any]]


def run_rows(r: RunResult, t: Trajectory, finished: datetime | None = None) -> RunRows:
    """The rows of a finished run (``finished``: its ``finished_at``, now by default)."""
    return RunRows((r.run_id, r.case_id, r.candidate, r.repeat), result_row(r, finished or now()),
                   step_values(r, t), [score_row(r, s) for s in r.scores.values()])


def commit_batch(con: duckdb.DuckDBPyConnection, stored: Sequence[ResultKey], results: list[dict[str, Any]],
                 steps: list[tuple[Any, ...]], scores: list[dict[str, Any]],
                 cache_rows: list[dict[str, Any]]) -> None:
    """One commit of finished runs: the rows of ``stored`` keys replaced, ``results``, ``steps``
    (tuples in :data:`STEP_COLUMNS` order), ``scores`` and cached replies inserted, in one
    transaction (rolled back on any error)."""
    con.execute("BEGIN TRANSACTION")
    try:
        if not stored:
            pass
        elif len(stored) < COLUMNAR_FROM_ROWS:
            for table in ("results", "steps", "scores"):
                con.executemany(f"DELETE FROM {table} WHERE run_id=? AND case_id=? AND candidate=? AND repeat=?",
                                [list(k) for k in stored])
        else:  # one set-based DELETE per table (a DELETE per key made big batches take minutes)
            keys = [{"run_id": run_id, "case_id": case_id, "candidate": candidate, "repeat": repeat}
                    for run_id, case_id, candidate, repeat in stored]
            with registered(con, keys) as view:
                for table in ("results", "steps", "scores"):
                    con.execute(f"DELETE FROM {table} t USING {view} k WHERE t.run_id = k.run_id "
                                "AND t.case_id = k.case_id AND t.candidate = k.candidate AND t.repeat = k.repeat")
        insert_rows(con, "results", results)
        insert_values(con, "steps", STEP_COLUMNS, steps)
        insert_rows(con, "scores", scores)
        write_cache_rows(con, cache_rows)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def write_cache_rows(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    """Replace the response-cache rows of these keys (inside the caller's transaction)."""
    if not rows:
        return
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        by_columns.setdefault(tuple(row), []).append(row)
    con.execute("DELETE FROM response_cache WHERE list_contains(?, key)", [[r["key"] for r in rows]])
    for group in by_columns.values():
        insert_rows(con, "response_cache", group)
