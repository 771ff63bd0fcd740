#!/usr/bin/env python3
"""Regenerate the support-triage demo dataset: tools.yaml, cases.jsonl, runs.jsonl and state.json.

    python datasets/support-triage/generate.py [--out DIR] [--seed N]

Deterministic (fixed seed, stdlib only): running it again rewrites the same bytes. The
ticket families live in ``families*.py``, the simulated shop in
``world.py`` and ``shop.py``, the recorded agents in ``recorder.py``; this file ties them together and
decides which recorded runs carry which planted mistake (see README.md).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.dont_write_bytecode = True  # keep the dataset folder free of __pycache__

from catalog import TOOLS, tools_yaml  # noqa: E402
from families import (  # noqa: E402
    build_already_refunded,
    build_cancellation,
    build_defective,
    build_duplicate_charge,
    build_not_received,
)
from families_accounts import (  # noqa: E402
    build_account_access,
    build_billing_question,
    build_bulk_duplicates,
    build_fraud,
    build_resolved,
    build_takeover,
)
from families_ops import (  # noqa: E402
    build_address_change,
    build_feature_request,
    build_outage,
    build_tech_bug,
    build_wismo,
)
from recorder import AGENTS, record_run  # noqa: E402
from shop import Shop  # noqa: E402
from world import Ids, Story  # noqa: E402

SEED = 20260514

# family -> number of cases; refund-tagged families come first (66 cases)
MIX: list[tuple[str, int]] = [
    ("duplicate_charge", 18),
    ("duplicate_charge_large", 7),
    ("defective", 14),
    ("defective_large", 5),
    ("not_received", 9),
    ("cancellation", 8),
    ("already_refunded", 5),
    ("wismo", 20),
    ("address_shipped", 4),
    ("address_unshipped", 4),
    ("tech_bug", 24),
    ("outage", 10),
    ("feature_request", 12),
    ("account_access", 20),
    ("takeover", 8),
    ("fraud", 12),
    ("bulk_duplicates", 12),
    ("resolved", 10),
    ("billing_question", 18),
]
VIP_SHARE = 0.12

# Planted mistakes: (mode, family, how many). Chosen cases are disjoint. See README.md.
PROD_MODES: list[tuple[str, str, int]] = [
    ("answer_format", "duplicate_charge", 1),
    ("answer_format", "defective", 1),
    ("unneeded_escalation", "defective", 1),
    ("unneeded_escalation", "tech_bug", 1),
    ("unneeded_escalation", "account_access", 1),
    ("missing_update", "wismo", 1),
    ("wrong_priority", "feature_request", 1),
    ("missing_reply", "billing_question", 1),
]
CANDIDATE_MODES: list[tuple[str, str, int]] = [
    ("over_limit", "duplicate_charge_large", 3),
    ("over_limit", "defective_large", 2),
    ("wrong_charge", "duplicate_charge", 5),
    ("wrong_amount", "defective", 4),
    ("wrong_reason", "not_received", 2),
    ("wrong_reason", "cancellation", 1),
    ("claims_without_write", "duplicate_charge", 2),
    ("claims_without_write", "defective", 1),
    ("claims_without_write", "not_received", 1),
    ("reply_before_refund", "ordered", 1),
    ("incomplete", "cancellation", 1),
    ("incomplete", "wismo", 1),
    ("unneeded_escalation", "duplicate_charge", 1),
    ("unneeded_escalation", "cancellation", 1),
    ("unneeded_escalation", "tech_bug", 1),
    ("unneeded_escalation", "account_access", 1),
    ("unneeded_escalation", "billing_question", 1),
    ("malformed_unrecovered", "defective", 1),
    ("malformed_recovered", "tech_bug", 1),
    ("malformed_recovered", "wismo", 1),
    ("bulk_close", "bulk_duplicates", 3),
    ("close_instead", "fraud", 1),
    ("close_instead", "takeover", 1),
    ("wrong_priority", "outage", 1),
    ("wrong_priority", "vip", 1),
    ("missing_update", "account_access", 1),
    ("repeated_ids", "tech_bug", 1),
    ("repeated_ids", "billing_question", 1),
    ("refund_error_retry", "cheap_duplicate", 1),
    ("refund_attempt_error", "already_refunded", 1),
]
ORDERED_CASES = 5
# Families whose cases are judged by the shop's final state (expected.state) instead of the
# list of writes: refunds, where the state says more (two partial refunds that add up, a
# ticket re-routed before the end, a charge that must stay untouched).
STATE_FAMILIES = {
    "duplicate_charge",
    "duplicate_charge_large",
    "defective",
    "defective_large",
    "not_received",
    "cancellation",
    "already_refunded",
}


def build_stories(rng: random.Random) -> list[Story]:
    ids = Ids(rng)
    shop = Shop(rng, ids)
    stories: list[Story] = []
    for family, count in MIX:
        for i in range(count):
            tid = ids.ticket()
            vip = rng.random() < VIP_SHARE
            if family in ("duplicate_charge", "duplicate_charge_large"):
                s = build_duplicate_charge(
                    shop,
                    tid,
                    family.endswith("large"),
                    vip,
                    installer=family.endswith("large") and i % 3 == 0,
                )
            elif family in ("defective", "defective_large"):
                s = build_defective(shop, tid, family.endswith("large"), vip)
            elif family == "not_received":
                s = build_not_received(shop, tid, vip)
            elif family == "cancellation":
                s = build_cancellation(shop, tid, vip)
            elif family == "already_refunded":
                s = build_already_refunded(shop, tid)
            elif family == "wismo":
                s = build_wismo(shop, tid, vip)
            elif family.startswith("address_"):
                s = build_address_change(shop, tid, family == "address_shipped")
            elif family == "tech_bug":
                s = build_tech_bug(shop, tid, vip)
            elif family == "outage":
                s = build_outage(shop, tid)
            elif family == "feature_request":
                s = build_feature_request(shop, tid)
            elif family == "account_access":
                s = build_account_access(shop, tid, vip)
            elif family == "takeover":
                s = build_takeover(shop, tid)
            elif family == "fraud":
                s = build_fraud(shop, tid)
            elif family == "bulk_duplicates":
                s = build_bulk_duplicates(shop, tid, [ids.ticket() for _ in range(2 if i % 3 else 3)])
            elif family == "resolved":
                s = build_resolved(shop, tid)
            elif family == "billing_question":
                s = build_billing_question(shop, tid, vip)
            else:  # pragma: no cover - MIX and this chain are edited together
                raise AssertionError(family)
            if "vip" in s.tags and "priority-routing" not in s.tags:
                s.tags.append("priority-routing")
            stories.append(s)
    rng.shuffle(stories)
    return stories


def assign_modes(rng: random.Random, stories: list[Story]) -> tuple[dict[int, str], dict[int, str]]:
    """Pick which cases carry each planted mistake, prod first, never two on one case."""
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
        elif family == "vip":
            pool = [
                s.ticket_id
                for s in stories
                if "vip" in s.tags and s.family in ("tech_bug", "wismo", "account_access")
            ]
        else:
            pool = [s.ticket_id for s in stories if s.family == family]
        pool = [t for t in pool if t not in taken]
        chosen = rng.sample(pool, n)
        taken.update(chosen)
        return chosen

    prod = {t: mode for mode, fam, n in PROD_MODES for t in pick(fam, n)}
    # Ordered cases are clean refund cases, chosen after prod's mistakes so none overlap.
    clean = [s for s in stories if s.family in ("duplicate_charge", "defective") and s.ticket_id not in taken]
    for s in rng.sample(clean, ORDERED_CASES):
        s.ordered = True
    candidate = {t: mode for mode, fam, n in CANDIDATE_MODES for t in pick(fam, n)}
    return prod, candidate


def expected_of(s: Story) -> dict[str, Any]:
    update: dict[str, Any] = {
        "ticket_id": s.ticket_id,
        "priority": s.priority
        if isinstance(s.priority, str)
        else {"$in": sorted(s.priority, key=["low", "normal", "high", "urgent"].index)},
        "group": s.group,
        "status": {"$optional": s.statuses[0] if len(s.statuses) == 1 else {"$in": s.statuses}},
    }
    actions: list[dict[str, Any]] = [{"tool": "update_ticket", "args": update}]
    if s.refund:
        actions.append({"tool": "issue_refund", "args": dict(s.refund)})
    actions += [{"tool": "close_ticket", "args": {"ticket_ids": [t]}} for t in s.closes]
    if s.reply is not None:
        actions.append({"tool": "send_reply", "args": {"ticket_id": s.ticket_id, "body": s.reply_match}})
    expected: dict[str, Any] = {"status": "escalated" if s.escalate else "completed", "actions": actions}
    if s.ordered:
        expected["ordered"] = True
    if s.forbidden:
        expected["forbidden"] = s.forbidden
    if s.answer:
        expected["answer"] = s.answer
    if s.family in STATE_FAMILIES and not s.ordered:
        expected["state"] = state_checks(s, update)
    return expected


def state_checks(s: Story, update: dict[str, Any]) -> dict[str, Any]:
    """Dotted-path checks of the final state: the same facts as the writes, said of the world."""
    t = s.ticket_id
    checks: dict[str, Any] = {
        f"tickets.{t}.priority": update["priority"],
        f"tickets.{t}.group": s.group,
        f"tickets.{t}.status": {"$in": sorted(set(s.statuses) | {"open"})},
    }
    for charge_id, charge in sorted(s.world.charges.items()):
        refunded = charge["amount_refunded_cents"]
        if s.refund and s.refund["charge_id"] == charge_id:
            refunded += s.refund["amount_cents"]
        checks[f"charges.{charge_id}.amount_refunded_cents"] = refunded
    if s.refund:
        checks[f"issued_refunds.{s.refund['charge_id']}.0.reason"] = s.refund["reason"]
    if s.reply is not None:
        checks[f"replies.{t}.0"] = s.reply_match
    return checks


def state_of(stories: list[Story]) -> dict[str, Any]:
    """The whole shop (every case's world) as the environment's state.json."""
    state: dict[str, dict[str, Any]] = {
        "tickets": {}, "customers": {}, "orders": {}, "charges": {}, "issued_refunds": {}, "replies": {},
    }
    for s in stories:
        w = s.world
        parts = (
            ("tickets", {str(k): v for k, v in w.tickets.items()}),
            ("customers", w.customers),
            ("orders", w.orders),
            ("charges", w.charges),
        )
        for name, records in parts:
            for key, value in records.items():
                if key in state[name] and state[name][key] != value:
                    raise AssertionError(f"{name} {key} differs between two cases")
                state[name][key] = value
    state["issued_refunds"] = {c: [] for c in sorted(state["charges"])}
    state["replies"] = {t: [] for t in sorted(state["tickets"])}
    for name in ("tickets", "customers", "orders", "charges"):
        state[name] = dict(sorted(state[name].items()))
    return state


def fixtures_of(s: Story) -> list[dict[str, Any]]:
    """Every read the case's world can answer (search_orders answers any query)."""
    w = s.world
    out: list[dict[str, Any]] = [
        {"tool": "get_ticket", "args": {"ticket_id": t}, "output": v} for t, v in sorted(w.tickets.items())
    ]
    out += [
        {"tool": "get_customer", "args": {"customer_id": c}, "output": v}
        for c, v in sorted(w.customers.items())
    ]
    out += [
        {"tool": "search_orders", "args": None, "output": {"orders": v}} for _, v in sorted(w.orders.items())
    ]
    out += [
        {"tool": "get_charge", "args": {"charge_id": c}, "output": v} for c, v in sorted(w.charges.items())
    ]
    return out + s.extra_fixtures


def case_of(s: Story) -> dict[str, Any]:
    return {
        "id": f"T-{s.ticket_id}",
        "input": s.input,
        "tags": s.tags,
        "expected": expected_of(s),
        "fixtures": fixtures_of(s),
        "metadata": {"family": s.family, "customer_tier": s.customer.tier},
    }


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def generate(out: Path, seed: int = SEED) -> dict[str, int]:
    """Write tools.yaml, cases.jsonl and runs.jsonl into ``out``; return counts."""
    rng = random.Random(seed)
    stories = build_stories(rng)
    prod_modes, cand_modes = assign_modes(rng, stories)
    out.mkdir(parents=True, exist_ok=True)
    (out / "tools.yaml").write_text(tools_yaml(TOOLS), encoding="utf-8", newline="\n")
    write_jsonl(out / "cases.jsonl", [case_of(s) for s in stories])
    (out / "state.json").write_text(
        json.dumps(state_of(stories), ensure_ascii=False, indent=1) + "\n", encoding="utf-8", newline="\n"
    )
    runs: list[dict[str, Any]] = []
    clock: dict[str, int] = {}
    for label, modes in (("prod", prod_modes), ("candidate", cand_modes)):
        prompt = (HERE / "prompts" / AGENTS[label]["prompt"]).read_text(encoding="utf-8")
        for s in stories:
            run_rng = random.Random(f"{seed}:{label}:{s.ticket_id}")
            runs.append(record_run(s, label, modes.get(s.ticket_id, "correct"), run_rng, prompt, clock))
    write_jsonl(out / "runs.jsonl", runs)
    return {"cases": len(stories), "runs": len(runs)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
