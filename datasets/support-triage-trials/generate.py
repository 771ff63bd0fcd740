#!/usr/bin/env python3
"""Regenerate the support-triage-trials demo dataset: tools.yaml, cases.jsonl and runs.jsonl.

    python datasets/support-triage-trials/generate.py [--out DIR] [--seed N]

A smaller sibling of ``datasets/support-triage``: 60 of its tickets, each worked four times
by each agent (``prod`` and ``candidate``), to show repeats, pass^k and flaky cases. The
shop, the ticket families, the simulated backend and the recorded agents are the
support-triage generator's own modules, imported from the sibling folder (nothing there is
changed); this file picks the cases and decides which trials carry which mistake.

Deterministic (fixed seed, stdlib only): running it again rewrites the same bytes.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import sys
from pathlib import Path
from typing import Any

sys.dont_write_bytecode = True  # keep both dataset folders free of __pycache__

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent / "support-triage"
sys.path.insert(0, str(SOURCE))


def _load_source_generator() -> Any:
    """support-triage's generate.py, under a name that cannot clash with this script."""
    spec = importlib.util.spec_from_file_location("support_triage_generate", SOURCE / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


st = _load_source_generator()

from recorder import AGENTS, record_run  # noqa: E402
from world import Story  # noqa: E402

SEED = 20260516
TRIALS = 4

# family -> cases taken from support-triage's 220 tickets; refund-tagged families first (25)
MIX: list[tuple[str, int]] = [
    ("duplicate_charge", 7),
    ("duplicate_charge_large", 2),
    ("defective", 6),
    ("defective_large", 2),
    ("not_received", 3),
    ("cancellation", 3),
    ("already_refunded", 2),
    ("wismo", 5),
    ("address_change", 2),
    ("tech_bug", 5),
    ("outage", 3),
    ("feature_request", 3),
    ("account_access", 5),
    ("takeover", 1),
    ("fraud", 3),
    ("bulk_duplicates", 3),
    ("resolved", 2),
    ("billing_question", 3),
]

# Mistakes by trial: (mode, family, cases, failing trials of TRIALS). The other trials of
# those cases are done right; chosen cases are disjoint. Modes are recorder.apply_mode's.
PROD_TRIALS: list[tuple[str, str, int, int]] = [
    ("answer_format", "defective", 1, 1),
    ("unneeded_escalation", "account_access", 1, 1),
    ("missing_reply", "billing_question", 1, 1),
    ("wrong_priority", "feature_request", 1, 1),
]
CANDIDATE_TRIALS: list[tuple[str, str, int, int]] = [
    ("wrong_charge", "duplicate_charge", 2, 1),
    ("claims_without_write", "duplicate_charge", 1, 1),
    ("over_limit", "duplicate_charge_large", 1, 2),
    ("wrong_amount", "defective", 1, 1),
    ("wrong_amount", "defective", 1, 3),
    ("over_limit", "defective_large", 1, 1),
    ("wrong_reason", "not_received", 1, 1),
    ("wrong_reason", "cancellation", 1, 1),
    ("reply_before_refund", "ordered", 1, 1),
    ("wrong_priority", "outage", 1, 1),
    ("close_instead", "fraud", 1, 1),
    ("bulk_close", "bulk_duplicates", 1, 1),
    ("bulk_close", "bulk_duplicates", 1, 4),  # the one case it never gets right
    ("unneeded_escalation", "account_access", 1, 1),
    ("unneeded_escalation", "tech_bug", 1, 1),
    ("incomplete", "wismo", 1, 1),
]
# Trials that take a different path and still end right (the harness must not penalise them).
PROD_VARIANTS: list[tuple[str, str, int, int]] = [
    ("malformed_recovered", "wismo", 1, 1),
]
CANDIDATE_VARIANTS: list[tuple[str, str, int, int]] = [
    ("malformed_recovered", "tech_bug", 1, 2),
    ("repeated_ids", "billing_question", 1, 4),
    ("refund_error_retry", "cheap_duplicate", 1, 1),
]
ORDERED_CASES = 2
DAYS = {"prod": "2026-05-16", "candidate": "2026-05-18"}
"""Both agents were run TRIALS times over the same tickets in a sandbox, one batch per trial."""


def select_stories(rng: random.Random, stories: list[Story]) -> list[Story]:
    """MIX's share of each family, kept in support-triage's (shuffled) order."""
    chosen: set[int] = set()
    for family, n in MIX:
        pool = [s.ticket_id for s in stories if s.family == family]
        chosen.update(rng.sample(pool, n))
    return [s for s in stories if s.ticket_id in chosen]


def assign_trials(rng: random.Random, stories: list[Story]) -> dict[str, dict[int, list[str]]]:
    """label -> ticket -> the mode of each trial ("correct" when done right)."""
    taken: set[int] = set()

    def pick(family: str, n: int) -> list[int]:
        if family == "ordered":
            pool = [s.ticket_id for s in stories if s.ordered]
        elif family == "cheap_duplicate":  # twice the amount stays under the $100 approval limit
            pool = [
                s.ticket_id
                for s in stories
                if s.family == "duplicate_charge" and s.refund and 2 * s.refund["amount_cents"] <= 10000
            ]
        else:
            pool = [s.ticket_id for s in stories if s.family == family]
        chosen = rng.sample([t for t in pool if t not in taken], n)
        taken.update(chosen)
        return chosen

    def trials(specs: list[tuple[str, str, int, int]], into: dict[int, list[str]]) -> None:
        for mode, family, cases, k in specs:
            for t in pick(family, cases):
                modes = ["correct"] * TRIALS
                for i in rng.sample(range(TRIALS), k):
                    modes[i] = mode
                into[t] = modes

    out: dict[str, dict[int, list[str]]] = {"prod": {}, "candidate": {}}
    trials(PROD_TRIALS, out["prod"])
    trials(PROD_VARIANTS, out["prod"])
    # Ordered cases are clean refund cases, chosen after prod's trials so none overlap.
    clean = [s for s in stories if s.family in ("duplicate_charge", "defective") and s.ticket_id not in taken]
    for s in rng.sample(clean, ORDERED_CASES):
        s.ordered = True
    trials(CANDIDATE_TRIALS, out["candidate"])
    trials(CANDIDATE_VARIANTS, out["candidate"])
    return out


def short_prompt(prompt: str, label: str) -> str:
    """The prompt's title only: these recordings do not repeat the whole system prompt."""
    title = prompt.split("\n", 1)[0]
    return (
        f"{title}\n[abridged in these recordings; full text ({len(prompt)} characters, counted in "
        f"full in usage): datasets/support-triage/prompts/{AGENTS[label]['prompt']}]"
    )


def jitter(run: dict[str, Any], label: str, rng: random.Random) -> None:
    """A stochastic agent writes a few more or fewer tokens each time: vary usage, cost, latency."""
    agent = AGENTS[label]
    shift = 0  # completion tokens added so far, seen by every later call's prompt
    extra_s = 0.0
    recorded = [m for m in run["messages"] if "usage" in m]  # not the turns of a chat input
    for m in recorded:
        delta = rng.randint(-4, 12)
        usage = m["usage"]
        usage["prompt_tokens"] += shift
        new_out = max(8, usage["completion_tokens"] + delta)
        delta = new_out - usage["completion_tokens"]
        usage["completion_tokens"] = new_out
        shift += delta
        extra = agent["per_tok_s"] * delta
        m["latency_s"] = round(max(0.2, m["latency_s"] + extra), 2)
        extra_s += extra
    prompt_tokens = sum(m["usage"]["prompt_tokens"] for m in recorded)
    completion = sum(m["usage"]["completion_tokens"] for m in recorded)
    run["usage"] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": prompt_tokens + completion,
    }
    run["cost_usd"] = round(prompt_tokens * agent["usd_in"] / 1e6 + completion * agent["usd_out"] / 1e6, 6)
    run["latency_s"] = round(max(0.5, run["latency_s"] + extra_s), 2)


def stamp(run: dict[str, Any], label: str, trial: int, i: int, rng: random.Random, n: int) -> None:
    """Trial batches start two hours apart; tickets in a batch about 45 seconds apart."""
    seconds = (8 + 2 * trial) * 3600 + 45 * i + rng.randint(0, 30)
    day = DAYS[label]
    run["started_at"] = f"{day}T{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}Z"
    run["run_id"] = f"run_{day.replace('-', '_')}_{n:04d}"


def write_compact_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    """One JSON object per line, without spaces after separators (keeps the file under 2.5 MB)."""
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")


def generate(out: Path, seed: int = SEED) -> dict[str, int]:
    """Write tools.yaml, cases.jsonl and runs.jsonl into ``out``; return counts."""
    stories = st.build_stories(random.Random(st.SEED))  # support-triage's 220 tickets
    rng = random.Random(seed)
    stories = select_stories(rng, stories)
    modes = assign_trials(rng, stories)
    out.mkdir(parents=True, exist_ok=True)
    (out / "tools.yaml").write_text(st.tools_yaml(st.TOOLS), encoding="utf-8", newline="\n")
    st.write_jsonl(out / "cases.jsonl", [_stateless(st.case_of(s)) for s in stories])
    runs: list[dict[str, Any]] = []
    for label in ("prod", "candidate"):
        prompt = (SOURCE / "prompts" / AGENTS[label]["prompt"]).read_text(encoding="utf-8")
        abridged = short_prompt(prompt, label)
        n = 0
        for trial in range(TRIALS):
            for i, s in enumerate(stories):
                mode = modes[label].get(s.ticket_id, ["correct"] * TRIALS)[trial]
                run_rng = random.Random(f"{seed}:{label}:{s.ticket_id}:{trial}")
                run = record_run(s, label, mode, run_rng, prompt, {})
                run["messages"][0]["content"] = abridged
                jitter(run, label, run_rng)
                n += 1
                stamp(run, label, trial, i, run_rng, n)
                runs.append(run)
    write_compact_jsonl(out / "runs.jsonl", runs)
    return {"cases": len(stories), "runs": len(runs)}



def _stateless(case: dict[str, Any]) -> dict[str, Any]:
    """This dataset has no environment: its cases are judged by their writes, not by state."""
    case["expected"].pop("state", None)
    return case


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=HERE, help="folder to write into (default: next to this script)"
    )
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    counts = generate(args.out, args.seed)
    print(f"wrote {counts['cases']} cases and {counts['runs']} recorded runs to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
