"""``eval merge``: the shards of one evaluation (``eval run --shard I/N``, one store each) as one run.

The shards must be of one evaluation: the same suite name, dataset hash, candidates and N,
each of 1..N exactly once, each finished. Their results, steps, scores and cases are copied
into the output store under one run id derived from the shards' run ids (so merging the same
shards again replaces the same run with the same rows: merging is idempotent); metrics,
comparisons and gates are then recomputed from all results by the same code as ``eval gate``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentctl.core.errors import InputError
from agentctl.outcome import EvalOutcome
from agentctl.plan import _in_shard, parse_shard
from agentctl.store.store import Store

RUN_TABLES = ("results", "steps", "scores", "cases")
"""Per-run rows copied from each shard."""
DERIVED_TABLES = ("metrics", "gates", "comparison_pairings", "comparisons", "comparison_cases")
"""Recomputed after the merge."""


@dataclass(frozen=True)
class Shard:
    path: Path
    run: dict[str, Any]
    """The shard's ``eval_runs`` row (its most recent evaluation)."""
    index: int
    count: int

    @property
    def spec(self) -> str:
        return f"{self.index}/{self.count}"


def read_shard(path: Path) -> Shard:
    """The most recent evaluation in a shard's store, and its shard spec (none: 1/1)."""
    if not path.is_file():
        raise InputError(f"shard {path}: no such results store")
    with Store(path, read_only=True) as store:
        rows = store._dicts("SELECT * FROM eval_runs ORDER BY started_at DESC LIMIT 1")
        if not rows:
            raise InputError(f"shard {path}: the store holds no evaluation")
        run = rows[0]
        counted = store.con.execute("SELECT count(*) FROM results WHERE run_id = ?", [run["run_id"]]).fetchone()
    run["_results"] = int(counted[0]) if counted else 0
    for key in ("suite_config", "options", "candidates"):
        if isinstance(run.get(key), str):
            run[key] = json.loads(run[key])
    spec = run.get("shard") or (run.get("options") or {}).get("shard")
    index, count = parse_shard(spec) or (1, 1)
    return Shard(path, run, index, count)


def _candidates(run: dict[str, Any]) -> list[tuple[str, str]]:
    return [(str(c.get("name")), str(c.get("model"))) for c in run.get("candidates") or []]


def check_shards(shards: list[Shard]) -> None:
    """Raise ``InputError`` naming the shard that differs, is missing, repeated or unfinished."""
    if not shards:
        raise InputError("eval merge needs at least one shard store")
    first = shards[0]
    seen: dict[str, Shard] = {}
    by_spec: dict[int, Shard] = {}
    for s in shards:
        for what, value, expected in (("suite", s.run["suite"], first.run["suite"]),
                                      ("dataset hash", s.run.get("dataset_hash"), first.run.get("dataset_hash")),
                                      ("candidates", _candidates(s.run), _candidates(first.run)),
                                      ("shard count", s.count, first.count),
                                      ("suite configuration", _config(s.run), _config(first.run))):
            if value != expected:
                raise InputError(f"shard {s.path}: {what} {_show(value)} differs from {_show(expected)} "
                                 f"of shard {first.path}; the shards are not of one evaluation")
        if s.run["run_id"] in seen:
            raise InputError(f"shard {s.path} is given twice (run {s.run['run_id']}, also {seen[s.run['run_id']].path})")
        seen[s.run["run_id"]] = s
        if s.index in by_spec:
            raise InputError(f"shard {s.path} is shard {s.spec}, given twice (also {by_spec[s.index].path})")
        by_spec[s.index] = s
        if s.run.get("status") != "finished":
            raise InputError(f"shard {s.path}: run {s.run['run_id']} is {s.run.get('status')}, not finished "
                             f"(finish it with agentctl eval run --shard {s.spec} --resume {s.run['run_id']})")
    missing = [f"{i}/{first.count}" for i in range(1, first.count + 1) if i not in by_spec]
    if missing:
        given = ", ".join(f"{s.path} ({s.spec})" for s in sorted(shards, key=lambda s: s.index))
        raise InputError(f"missing shard(s) {', '.join(missing)} of suite '{first.run['suite']}' (given: {given})")


def _config(run: dict[str, Any]) -> dict[str, Any]:
    """The suite as the shard ran it, wherever its file was (``_source`` differs between machines)."""
    return {k: v for k, v in (run.get("suite_config") or {}).items() if k != "_source"}


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "(gates, policy, scorers or other settings)"
    if isinstance(value, list):
        return "[" + ", ".join(f"{n} ({m})" for n, m in value) + "]"
    return repr(value)


def merged_run_id(shards: list[Shard]) -> str:
    """Deterministic: the same shards always merge into the same run id."""
    digest = hashlib.sha256("\n".join(sorted(s.run["run_id"] for s in shards)).encode()).hexdigest()
    started = min(s.run["started_at"] for s in shards)
    return started.strftime("ev-%Y%m%d-%H%M%S-") + digest[:6]


def _columns(store: Store, schema: str, table: str) -> list[str]:
    rows = store.con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_catalog = ? AND table_name = ? "
        "ORDER BY ordinal_position", [schema, table]).fetchall()
    return [r[0] for r in rows]


def _copy_shards(store: Store, run_id: str, shards: list[Shard], aliases: list[str]) -> None:
    out_catalog = store.con.execute("SELECT current_database()").fetchone()
    assert out_catalog is not None
    owner: dict[str, Shard] = {}
    for alias, s in zip(aliases, shards, strict=True):
        cases = store.con.execute(f"SELECT DISTINCT case_id FROM {alias}.results WHERE run_id = ?",
                                  [s.run["run_id"]]).fetchall()
        for (case_id,) in cases:
            if case_id in owner:
                raise InputError(f"shard {s.path}: case {case_id!r} is also in shard {owner[case_id].path}")
            if s.count > 1 and not _in_shard(case_id, s.index, s.count):
                raise InputError(f"shard {s.path}: case {case_id!r} does not belong to shard {s.spec}")
            owner[case_id] = s
        for table in RUN_TABLES:
            theirs = set(_columns(store, alias, table))
            cols = [c for c in _columns(store, out_catalog[0], table) if c in theirs]
            select = ", ".join("? AS run_id" if c == "run_id" else c for c in cols)
            store.con.execute(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {select} "
                              f"FROM {alias}.{table} WHERE run_id = ?", [run_id, s.run["run_id"]])


def _quote(path: Path) -> str:
    return str(path.resolve()).replace("'", "''")


def merge_shards(out: Path, paths: list[Path]) -> EvalOutcome:
    """Merge shard stores into ``out`` as one run; metrics, comparisons and gates from all results."""
    from agentctl.measure import gate_stored_run

    resolved = [p.resolve() for p in paths]
    for i, p in enumerate(resolved):
        if p in resolved[:i]:
            raise InputError(f"shard {paths[i]} is given twice")
        if out.resolve() == p:
            raise InputError(f"the output store {out} is also given as a shard; merge into a new file")
    shards = [read_shard(p) for p in paths]
    check_shards(shards)
    if not sum(s.run["_results"] for s in shards):
        raise InputError(f"the {len(shards)} shard(s) hold no runs: nothing to gate (check --tag and --limit)")
    shards.sort(key=lambda s: s.index)
    run_id = merged_run_id(shards)
    first = shards[0].run
    row = {k: v for k, v in first.items() if k not in ("shard", "message", "_results")}
    finished = [s.run["finished_at"] for s in shards if s.run.get("finished_at") is not None]
    row.update(
        run_id=run_id, started_at=min(s.run["started_at"] for s in shards),
        options={**{k: v for k, v in (first.get("options") or {}).items() if k != "shard"},
                 "merged_from": [{"shard": s.spec, "run_id": s.run["run_id"], "store": str(s.path)} for s in shards]},
        planned_runs=sum(int(s.run.get("planned_runs") or 0) for s in shards),
    )
    with Store(out) as store:
        aliases = [f"shard_{k}" for k in range(len(shards))]
        for alias, s in zip(aliases, shards, strict=True):
            store.con.execute(f"ATTACH '{_quote(s.path)}' AS {alias} (READ_ONLY)")
        try:
            store.con.execute("BEGIN TRANSACTION")
            try:
                for table in ("eval_runs", *RUN_TABLES, *DERIVED_TABLES):
                    store.con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
                store.begin_run(row)
                _copy_shards(store, run_id, shards, aliases)
                store.con.execute("COMMIT")
            except BaseException:
                store.con.execute("ROLLBACK")
                raise
        finally:
            for alias in aliases:
                store.con.execute(f"DETACH {alias}")
    outcome = gate_stored_run(out, run_id, store_results=True)  # eval gate --store
    with Store(out) as store:
        store.con.execute("UPDATE eval_runs SET status = 'finished', exit_code = ?, finished_at = ? WHERE run_id = ?",
                          [outcome.exit_code, max(finished) if finished else None, run_id])
    outcome.status = "finished"
    outcome.notes.append(f"merged {len(shards)} shard(s) of suite '{first['suite']}' into run {run_id} in {out}")
    commits = sorted({str(s.run.get("git_commit")) for s in shards})
    if len(commits) > 1:
        outcome.notes.append(f"the shards ran at different git commits ({', '.join(commits)}); "
                             f"the merged run records {first.get('git_commit')}")
    return outcome
