"""Suites over a slice of the demo dataset, and stores of several runs, built through ``eval run``.

Used by the shard/merge, history and browser tests.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from agentctl.runner import run_suite

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "datasets" / "support-triage"
CASES = 36


def make_suite(root: Path, *, name: str = "triage-small", cases: int = CASES) -> Path:
    """The demo suite (no library scorers) over its first ``cases`` cases, copied under ``root``."""
    ds = root / "dataset"
    if not ds.exists():
        ds.mkdir(parents=True)
        kept = [json.loads(line) for line in (DEMO / "cases.jsonl").read_text().splitlines()[:cases]]
        ids = {c["id"] for c in kept}
        (ds / "cases.jsonl").write_text("".join(json.dumps(c) + "\n" for c in kept))
        runs = [line for line in (DEMO / "runs.jsonl").read_text().splitlines() if json.loads(line)["case_id"] in ids]
        (ds / "runs.jsonl").write_text("\n".join(runs) + "\n")
        for file in ("tools.yaml", "environment.py", "state.json"):  # the shop's world: cases judge its state
            if (DEMO / file).exists():
                shutil.copy(DEMO / file, ds / file)
    text = (REPO / "evalsuites" / "support-triage.yaml").read_text()
    head, tail = text.split("\nscorers:", 1)
    tail = tail[tail.index("\npolicy:"):]
    text = (head + tail).replace("dataset: ../datasets/support-triage", "dataset: dataset")
    text = text.replace("../datasets/support-triage/prompts/", str(DEMO / "prompts") + "/")
    text = text.replace("name: support-triage\n", f"name: {name}\n")
    text = text.replace('  - {metric: "mean:ragas.tool_call_f1", min: 0.95}\n', "")
    suite = root / f"{name}.yaml"
    suite.write_text(text)
    return suite


def build_history_store(root: Path) -> tuple[Path, list[str]]:
    """Three runs of one suite: A, B the same recordings; C with the candidate replaying prod's (it improves)."""
    suite = make_suite(root, name="triage-history", cases=120)
    db = root / "history.duckdb"
    ids = [run_suite(suite, db=db).run_id for _ in range(2)]
    runs = root / "dataset" / "runs.jsonl"
    lines = [json.loads(line) for line in runs.read_text().splitlines()]
    fixed = [r for r in lines if r["label"] == "prod"]
    fixed += [{**r, "label": "candidate", "run_id": r["run_id"] + "-c"} for r in lines if r["label"] == "prod"]
    runs.write_text("".join(json.dumps(r) + "\n" for r in fixed))
    ids.append(run_suite(suite, db=db).run_id)
    return db, ids
