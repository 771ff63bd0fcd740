"""The results store: one DuckDB file whose tables are a documented, public interface.

Writes happen as runs finish, in batches of whatever has finished since the last commit
(a slow provider gives one run per commit; a fast replay gives larger batches), so a crash
loses only the runs not yet committed and ``--resume`` re-runs exactly those.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from agentctl.core.errors import RunError
from agentctl.core.jsonvalues import finite_or_none
from agentctl.core.results import RunResult, ScoreResult
from agentctl.core.trajectory import Trajectory
from agentctl.core.values import GateResult, MetricValue
from agentctl.store.locks import connect, take_writer_lock
from agentctl.store.rows import (
    ResultKey,
    RunRows,
    commit_batch,
    expected_columns,
    insert_rows,
    now,
    registered,
    run_rows,
    to_json,
    write_cache_rows,
)
from agentctl.store.schema import ADDED_COLUMNS, SCHEMA_VERSION, TABLES

if TYPE_CHECKING:
    from agentctl.store.committer import Committer

DEFAULT_DB = "agentctl.duckdb"
_LOCK_WAIT_S = 10.0
_REOPEN_WAIT_S = 120.0
"""How long a commit waits for readers to let go of the file (see Store.released)."""
_PRELOAD_CACHE_ROWS = 50_000


_RESULT_SELECT = {
    **{k: f"coalesce({k}, 0.0) AS {k}" for k in (
        "inference_cost_usd", "tool_cost_usd", "review_cost_usd", "judge_cost_usd", "user_cost_usd")},
    **{k: f"coalesce({k}, 0) AS {k}" for k in ("prompt_tokens", "completion_tokens")},
    "model": "coalesce(model, '') AS model",
    "unverifiable": "coalesce(unverifiable, false) AS unverifiable",
    "tags": "coalesce(tags, []::VARCHAR[]) AS tags",
    "reasons": "coalesce(reasons, []::VARCHAR[]) AS reasons",
}
"""How :meth:`Store.load_results` selects a ``results`` column whose NULL means the field's default."""


class Store:
    """A DuckDB results store: the one handle every library entry point takes (a ``Store``, or
    a path that becomes one). Use as a context manager, or call :meth:`close`.

    Like sqlite-utils' ``Database``, it also wraps an open DuckDB connection (which it then
    neither migrates nor closes).
    """

    def __init__(
        self, path: str | Path | duckdb.DuckDBPyConnection, *, read_only: bool = False, wait_s: float = _LOCK_WAIT_S
    ) -> None:
        self._cache_cursor: duckdb.DuckDBPyConnection | None = None
        self._owned = not isinstance(path, duckdb.DuckDBPyConnection)
        self.read_only = read_only
        self._writer_lock: Any = None
        self._released = False
        self._committer: Committer | None = None
        self._spare: Committer | None = None
        self._io_lock = threading.Lock()
        # Cached replies put during this session, written with the next commit of results (a
        # DuckDB statement per model call cost more than the call); looked up in memory first.
        self._cache_keys: set[str] | None = None
        self._cache_new: dict[str, dict[str, Any]] = {}
        self._cache_unwritten: list[str] = []
        self._cache_lock = threading.Lock()
        self._begun: set[str] = set()
        """Runs begun by this handle: no other writer has rows of theirs (see :meth:`write_results`)."""
        self._written: set[tuple[str, str, str, int]] = set()
        """Keys of the begun runs this handle has written results for."""
        if isinstance(path, duckdb.DuckDBPyConnection):
            self.path = Path("<duckdb connection>")
            self.con = path
            return
        self.path = Path(path)
        if read_only and not self.path.exists():
            from agentctl.core.errors import InputError

            raise InputError(f"no results store at {self.path} (run 'agentctl eval run' first, or pass "
                             "--db PATH / set AGENTCTL_DB to the store you mean)")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            from agentctl.core.errors import InputError

            raise InputError(f"cannot create the results store {self.path}: {exc.strerror or exc}; "
                             "pass another --db") from None
        if not read_only:
            self._take_writer_lock(wait_s)
        try:
            self.con = self._connect(read_only, wait_s)
        except BaseException:
            self._drop_writer_lock()
            raise
        try:
            self._check_schema()
            if not read_only:
                self._migrate()
        except BaseException:
            self.con.close()
            self._drop_writer_lock()
            raise

    def _connect(self, read_only: bool, wait_s: float) -> duckdb.DuckDBPyConnection:
        return connect(self.path, read_only, wait_s)

    def _take_writer_lock(self, wait_s: float) -> None:
        self._writer_lock = take_writer_lock(self.path, wait_s)

    def _drop_writer_lock(self) -> None:
        if self._writer_lock is not None:
            self._writer_lock.close()  # closing the file releases the flock
            self._writer_lock = None

    @contextmanager
    def released(self, *, offload: bool = False) -> Iterator[None]:
        """While inside, the DuckDB file is open only while a commit writes, so that other
        processes (``eval list``, ``show``, ``report``) can read the run as it goes. With
        ``offload``, :meth:`write_results` commits in a child process
        (:mod:`agentctl.store.committer`), off this process's GIL.

        The writer lock stays held, so a second writer still fails. Cached replies are read
        into memory first (model calls look them up without the file); a cache too big for
        that keeps the file open (readers then wait for the run, as before).
        """
        spare, self._spare = self._spare, None
        if self.read_only or not self._owned or not self._preload_cache():
            if spare is not None:
                spare.close()
            yield
            return
        with self._io_lock:
            self._close_connection()
            self._released = True
        try:
            if offload:
                from agentctl.store.committer import Committer

                self._committer = spare or Committer(self.path)
            elif spare is not None:
                spare.close()
            yield
        finally:
            with self._io_lock:
                if self._committer is not None:
                    self._committer.close()
                    self._committer = None
                self._released = False
                self.con = self._connect(False, _REOPEN_WAIT_S)

    def start_committer(self) -> None:
        """Start the process of a coming ``released(offload=True)`` now: it imports what it
        needs (a quarter of a second) while the run is set up, not while the first runs wait."""
        if self._spare is None and self._owned and not self.read_only:
            from agentctl.store.committer import Committer

            self._spare = Committer(self.path)

    def _preload_cache(self) -> bool:
        (count,) = self.con.execute("SELECT count(*) FROM response_cache").fetchall()[0]
        if count > _PRELOAD_CACHE_ROWS:
            return False
        rows = self._dicts("SELECT * FROM response_cache")
        with self._cache_lock:
            for row in rows:
                self._cache_new.setdefault(row["key"], row)
            self._cache_keys = set(self._cache_new)
        return True

    def _close_connection(self) -> None:
        if self._cache_cursor is not None:
            self._cache_cursor.close()
            self._cache_cursor = None
        if self._owned:
            self.con.close()

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """The connection for one commit: reopened (waiting for readers) when released."""
        with self._io_lock:
            if self._released:
                self.con = self._connect(False, _REOPEN_WAIT_S)
            try:
                yield
            finally:
                if self._released:
                    self._close_connection()

    def _check_schema(self) -> None:
        """Refuse a DuckDB file whose tables of our names are someone else's (before writing anything)."""
        from agentctl.core.errors import InputError

        have: dict[str, set[str]] = {}
        for table, column in self.con.execute(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'main'"
        ).fetchall():
            have.setdefault(table, set()).add(column)
        if not have.keys() & TABLES.keys():  # a new file, or none of our tables: nothing to compare
            return
        for table, wanted in expected_columns().items():
            if table in have and not wanted <= have[table]:
                missing = ", ".join(sorted(wanted - have[table])[:5])
                raise InputError(f"{self.path} is not an agentctl results store: its table '{table}' lacks "
                                 f"columns {missing}; pass another --db")

    def _migrate(self) -> None:
        for ddl in TABLES.values():
            self.con.execute(ddl)
        for table, column, sql_type in ADDED_COLUMNS:
            self.con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {sql_type}")
        row = self.con.execute("SELECT max(version) FROM schema_info").fetchall()[0]
        current = row[0] if row else None
        if current is None:
            self.con.execute("INSERT INTO schema_info VALUES (?, ?)", [SCHEMA_VERSION, now()])
        elif current > SCHEMA_VERSION:
            raise RunError(
                f"results store {self.path} has schema version {current}, newer than this agentctl "
                f"({SCHEMA_VERSION}); upgrade agentctl"
            )

    def close(self) -> None:
        try:
            if self._cache_unwritten and not self.read_only and not self._released:
                self.con.execute("BEGIN TRANSACTION")
                write_cache_rows(self.con, self._take_cache_rows())
                self.con.execute("COMMIT")
            if not self._released:
                self._close_connection()
        finally:
            if self._spare is not None:
                self._spare.close()
                self._spare = None
            self._drop_writer_lock()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- evaluation runs -------------------------------------------------------------

    def begin_run(self, row: dict[str, Any]) -> None:
        row = {**row, "started_at": row.get("started_at") or now(), "status": "running"}
        for key in ("suite_config", "options", "candidates"):
            if key in row and not isinstance(row[key], str):
                row[key] = to_json(row[key])
        self._insert("eval_runs", [row])
        self._begun.add(row["run_id"])

    def reopen_run(self, run_id: str) -> None:
        self.con.execute(
            "UPDATE eval_runs SET status='running', finished_at=NULL, exit_code=NULL WHERE run_id=?", [run_id]
        )

    def finish_run(self, run_id: str, *, status: str, exit_code: int, message: str | None = None) -> None:
        self.con.execute(
            "UPDATE eval_runs SET status=?, exit_code=?, finished_at=?, message=? WHERE run_id=?",
            [status, exit_code, now(), message, run_id],
        )

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        rows = self._dicts("SELECT * FROM eval_runs WHERE run_id = ?", [run_id])
        if not rows:
            # Accept a unique prefix, as git does for commits.
            rows = self._dicts("SELECT * FROM eval_runs WHERE run_id LIKE ? || '%'", [run_id])
            if len(rows) != 1:
                return None
        row = rows[0]
        for key in ("suite_config", "options", "candidates"):
            if isinstance(row.get(key), str):
                row[key] = json.loads(row[key])
        return row

    def list_runs(self, limit: int = 50) -> list[dict[str, Any]]:
        return self._dicts(
            """SELECT r.run_id, r.suite, r.started_at, r.finished_at, r.status, r.exit_code,
                      (SELECT count(*) FROM results x WHERE x.run_id = r.run_id) AS runs
               FROM eval_runs r ORDER BY r.started_at DESC LIMIT ?""",
            [limit],
        )

    # ---- per-run results ---------------------------------------------------------------

    def write_results(self, batch: Sequence[tuple[RunResult, Trajectory]]) -> None:
        """Commit finished runs (result, steps and scores) in one transaction.

        Idempotent: rows of a (run, case, candidate, repeat) already stored are replaced,
        so a resumed run never duplicates.
        """
        finished = now()
        self.write_rows([run_rows(result, trajectory, finished) for result, trajectory in batch])

    def write_rows(self, batch: Sequence[RunRows]) -> None:
        """Commit finished runs given as their rows (:func:`agentctl.store.rows.run_rows`), in one
        transaction; like :meth:`write_results`."""
        if not batch:
            return
        args, written = self._gather(batch)
        if self._committer is not None:  # released: another process commits (see agentctl.store.committer)
            self._committer.send(self._committer.pack(args))
        else:
            with self._writing():
                commit_batch(self.con, *args)
        self._written.update(written)

    async def write_rows_async(self, batch: Sequence[RunRows]) -> None:
        """:meth:`write_rows` from an event loop, which goes on while the batch is committed: by
        the committing process, over its pipe on this loop, or in a worker thread. (With a
        committing process, a writer thread was slower: each time it needed the GIL back from
        the runs it waited up to the switch interval, 5 ms, and a 4,000-run commit that way
        waited half a second to start.)"""
        if not batch:
            return
        if self._committer is None:
            await asyncio.to_thread(self.write_rows, batch)
            return
        args, written = self._gather(batch)
        await self._committer.send_async(self._committer.pack(args))
        self._written.update(written)

    def _gather(self, batch: Sequence[RunRows]) -> tuple[tuple[Any, ...], list[ResultKey]]:
        """The arguments of :func:`commit_batch` after the connection, and the keys of the runs
        this handle began that the commit writes."""
        results = [b.result for b in batch]
        steps = [step for b in batch for step in b.steps]
        scores = [score for b in batch for score in b.scores]
        keys = [b.key for b in batch]
        # A run this handle began has no rows but the ones it wrote: only those need replacing
        # (the DELETEs were a tenth of a replay's commits).
        stored = [k for k in keys if k[0] not in self._begun or k in self._written]
        written = [k for k in keys if k[0] in self._begun]
        return (stored, results, steps, scores, self._take_cache_rows()), written

    def completed_keys(self, run_id: str) -> set[tuple[str, str, int]]:
        rows = self.con.execute(
            "SELECT case_id, candidate, repeat FROM results WHERE run_id = ?", [run_id]
        ).fetchall()
        return {(r[0], r[1], int(r[2])) for r in rows}

    def load_results(self, run_id: str) -> list[RunResult]:
        scores: dict[tuple[str, str, int], dict[str, ScoreResult]] = {}
        for case_id, candidate, repeat, scorer, score, passed, reason, cost, error in self.con.execute(
                "SELECT case_id, candidate, repeat, scorer, score, passed, coalesce(reason, ''), "
                "coalesce(cost_usd, 0.0), error FROM scores WHERE run_id = ?", [run_id]).fetchall():
            scores.setdefault((case_id, candidate, int(repeat)), {})[scorer] = ScoreResult(
                scorer=scorer, score=score, passed=passed, reason=reason, cost_usd=cost, error=error)
        stored = {c for c, in self.con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'results'").fetchall()}
        # One SELECT that already gives each field its Python value (NULLs as the defaults): a
        # dict per row filtered and patched field by field cost more than the query.
        names = [f for f in RunResult.__dataclass_fields__ if f != "scores" and f in stored]
        cursor = self.con.execute(
            f"SELECT {', '.join(_RESULT_SELECT.get(n, n) for n in names)} FROM results WHERE run_id = ? "
            "ORDER BY candidate, case_id, repeat", [run_id])
        out = []
        for row in cursor.fetchall():
            data = dict(zip(names, row, strict=True))
            if isinstance(data.get("state_diff"), str):
                data["state_diff"] = json.loads(data["state_diff"])
            out.append(RunResult(**data, scores=scores.get((data["case_id"], data["candidate"], data["repeat"]), {})))
        return out

    def load_steps(self, run_id: str, case_id: str, candidate: str, repeat: int) -> list[dict[str, Any]]:
        return self._dicts(
            "SELECT * FROM steps WHERE run_id=? AND case_id=? AND candidate=? AND repeat=? ORDER BY step",
            [run_id, case_id, candidate, repeat],
        )

    # ---- response cache ----------------------------------------------------------------

    def _cache(self) -> duckdb.DuckDBPyConnection:
        # Its own cursor: the cache is read and written from the event loop's thread while
        # the writer commits results from another; one DuckDB connection is not thread-safe.
        if self._cache_cursor is None:
            self._cache_cursor = self.con.cursor()
        return self._cache_cursor

    def cache_get(self, key: str) -> dict[str, Any] | None:
        """A cached model reply by key (see :mod:`agentctl.providers.cache`)."""
        with self._cache_lock:
            row = self._cache_new.get(key)
            if row is not None:
                return dict(row)
            if self._cache_keys is None:  # one query for the keys, not one per model call
                self._cache_keys = {r[0] for r in self._cache().execute("SELECT key FROM response_cache").fetchall()}
            if key not in self._cache_keys:
                return None
        cur = self._cache().execute("SELECT * FROM response_cache WHERE key = ?", [key])
        found = cur.fetchone()
        if found is None:
            return None
        return dict(zip([d[0] for d in cur.description], found, strict=True))

    def cache_put(self, row: dict[str, Any]) -> None:
        """Store a model reply (replacing one with the same key); written with the next commit."""
        row = {**row, "created_at": row.get("created_at") or now()}
        with self._cache_lock:
            if row["key"] not in self._cache_new:
                self._cache_unwritten.append(row["key"])
            self._cache_new[row["key"]] = row
            if self._cache_keys is not None:
                self._cache_keys.add(row["key"])

    def _take_cache_rows(self) -> list[dict[str, Any]]:
        """The replies put since the last commit, to be written with this one."""
        with self._cache_lock:
            keys, self._cache_unwritten = self._cache_unwritten, []
            return [self._cache_new[k] for k in keys]

    # ---- metrics and gates ---------------------------------------------------------------

    def replace_metrics(self, run_id: str, metrics: Iterable[MetricValue]) -> None:
        rows = [
            {"run_id": run_id, **{k: finite_or_none(v) if k in ("ci_low", "ci_high") else v
                                  for k, v in asdict(m).items()}}
            for m in metrics
        ]
        self._replace(run_id, "metrics", rows)

    def replace_gates(self, run_id: str, gates: Iterable[GateResult]) -> None:
        rows = []
        for g in gates:
            row = asdict(g)
            row["extra"] = to_json(row.get("extra") or {})
            rows.append({"run_id": run_id, **row})
        self._replace(run_id, "gates", rows)

    def replace_rows(self, run_id: str, table: str, rows: list[dict[str, Any]]) -> None:
        """Replace a run's rows of an auxiliary table (comparisons, ...)."""
        self._replace(run_id, table, rows)

    def load_metrics(self, run_id: str) -> list[MetricValue]:
        rows = self._dicts("SELECT * FROM metrics WHERE run_id = ?", [run_id])
        return [MetricValue(**{k: v for k, v in r.items() if k != "run_id"}) for r in rows]

    def load_gates(self, run_id: str) -> list[GateResult]:
        rows = self._dicts("SELECT * FROM gates WHERE run_id = ?", [run_id])
        out = []
        for r in rows:
            r.pop("run_id")
            r["extra"] = json.loads(r["extra"]) if r.get("extra") else {}
            r["insufficient"] = bool(r.get("insufficient"))
            out.append(GateResult(**r))
        return out

    # ---- plumbing ----------------------------------------------------------------------

    def _replace(self, run_id: str, table: str, rows: list[dict[str, Any]]) -> None:
        self.con.execute("BEGIN TRANSACTION")
        try:
            self.con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
            self._insert(table, rows)
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    @contextmanager
    def _registered(self, rows: list[dict[str, Any]]) -> Iterator[str]:
        with registered(self.con, rows) as name:
            yield name

    def _insert(self, table: str, rows: list[dict[str, Any]]) -> None:
        insert_rows(self.con, table, rows)

    def _dicts(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        cur = self.con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


StoreHandle = Store | str | Path
"""What every library entry point takes as its results store."""


@contextmanager
def open_store(handle: StoreHandle | duckdb.DuckDBPyConnection, *, read_only: bool = False) -> Iterator[Store]:
    """The :class:`Store` of ``handle``: a ``Store`` is used as it is (and left open for its
    owner); a path (or a DuckDB connection) is opened here and closed on leaving."""
    if isinstance(handle, Store):
        yield handle
        return
    store = Store(handle, read_only=read_only)
    try:
        yield store
    finally:
        store.close()
