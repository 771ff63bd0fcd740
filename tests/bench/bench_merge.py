"""Time of ``eval merge`` for 4 shards, and the size of ``eval export --format parquet``.

    .venv/bin/python tests/bench/bench_merge.py [RUNS]

Builds a synthetic evaluation of RUNS runs (default 10,000: 5,000 cases x 2 candidates, 5 steps
per run; tests/test_report_store.build_synthetic_run), splits it into 4 shard stores by the
same stable hash as ``--shard I/4``, then times merging them (copy + metrics, comparisons and
gates recomputed) and exporting the merged run as Parquet. Not a test.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import duckdb  # noqa: E402

from agentctl.merge import merge_shards  # noqa: E402
from agentctl.plan import _in_shard  # noqa: E402
from agentctl.store.export import export_run  # noqa: E402
from agentctl.store.store import Store  # noqa: E402
from test_report_store import build_synthetic_run  # noqa: E402

SUITE = {"name": "bench", "dataset": ".", "baseline": "prod",
         "candidates": [{"name": "prod", "model": "replay:prod"}, {"name": "mini", "model": "openai/x"}],
         "gates": [{"metric": "success_rate", "min": 0.9}, {"regression": "success_rate", "max_drop": 0.02, "alpha": 0.05}]}


def main(runs: int = 10_000, shards: int = 4) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        con = build_synthetic_run(root / "whole.duckdb", runs)
        con.execute("UPDATE eval_runs SET suite_config = ?, dataset_hash = 'h', candidates = ?",
                    [json.dumps(SUITE), json.dumps(SUITE["candidates"])])
        con.close()
        Store(root / "whole.duckdb").close()  # add the columns added since build_synthetic_run's schema
        paths = []
        for i in range(1, shards + 1):
            path = root / f"shard-{i}.duckdb"
            Store(path).close()
            out = duckdb.connect(str(path))
            out.execute(f"ATTACH '{root / 'whole.duckdb'}' AS w (READ_ONLY)")
            cases = [r[0] for r in out.execute("SELECT DISTINCT case_id FROM w.results").fetchall()]
            out.execute("CREATE TEMP TABLE keep (case_id VARCHAR)")
            out.executemany("INSERT INTO keep VALUES (?)", [[c] for c in cases if _in_shard(c, i, shards)])
            out.execute(f"INSERT INTO eval_runs BY NAME SELECT * REPLACE ('r-{i}' AS run_id, '{i}/{shards}' AS shard) "
                        "FROM w.eval_runs")
            for table in ("results", "steps"):
                out.execute(f"INSERT INTO {table} BY NAME SELECT * REPLACE ('r-{i}' AS run_id) FROM w.{table} "
                            "WHERE case_id IN (SELECT case_id FROM keep)")
            out.close()
            paths.append(path)
        import agentctl.measure as measure

        finalize, spent = measure.measure, [0.0]

        def timed_finalize(*args, **kwargs):  # type: ignore[no-untyped-def]
            t = time.perf_counter()
            try:
                return finalize(*args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - t

        measure.measure = timed_finalize  # type: ignore[assignment]
        t0 = time.perf_counter()
        outcome = merge_shards(root / "merged.duckdb", paths)
        merge_s = time.perf_counter() - t0
        print(f"merge of {shards} shards, {len(outcome.results)} runs: {merge_s:.2f}s (exit {outcome.exit_code}); "
              f"of which measure (metrics, comparisons, gates) {spent[0]:.2f}s, copy, checks and storing "
              f"{merge_s - spent[0]:.2f}s")
        t0 = time.perf_counter()
        tables = export_run(root / "merged.duckdb", outcome.run_id, root / "parquet")
        export_s = time.perf_counter() - t0
        total = sum(t.bytes for t in tables)
        print(f"parquet export: {export_s:.2f}s, {total / 1e6:.2f} MB in {len(tables)} files; "
              f"store file {(root / 'merged.duckdb').stat().st_size / 1e6:.1f} MB")
        for t in tables:
            print(f"  {t.table:18s} {t.rows:7d} rows {t.bytes / 1e3:9.1f} kB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
