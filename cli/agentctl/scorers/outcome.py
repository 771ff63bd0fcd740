"""Outcome scoring: the verdict of one run, as DESIGN.md ("Verdicts") defines it.

The run's write side effects are paired one to one with ``expected.actions`` by a maximum
bipartite matching, so a complete pairing is found whenever one exists (first-match-wins
can miss it when a matcher accepts several writes). Writes left unpaired are critical;
expected actions left unpaired only make the run incorrect. A case with ``expected.state``
is judged by the final state of its environment instead (:mod:`agentctl.scorers.state`).
"""

from __future__ import annotations

from dataclasses import dataclass

from agentctl.config.models import Suite
from agentctl.core.matchers import arg_differences, match_args, match_subset, render_call
from agentctl.core.results import Verdict
from agentctl.core.trajectory import Step, Trajectory, is_write, resolve_effect
from agentctl.datasets.models import Case, ExpectedAction, ToolCatalog
from agentctl.scorers.answer import check_answer
from agentctl.scorers.state import check_state


@dataclass(frozen=True)
class Pairing:
    """How a run's writes pair with the expected actions."""

    pairs: dict[int, int]
    """Index of an expected action -> index of the write paired with it."""
    unpaired_actions: list[int]
    """Expected actions no write carried out (missing writes)."""
    unpaired_writes: list[int]
    """Writes no expected action accounts for (wrong arguments, extra, duplicated)."""

    @property
    def complete(self) -> bool:
        return not self.unpaired_actions and not self.unpaired_writes


def action_matches(action: ExpectedAction, step: Step) -> bool:
    """The write ``step`` carries out the expected ``action`` (same tool, arguments match)."""
    return step.tool == action.tool and match_args(action.args, step.args) is None


def pair_writes(actions: list[ExpectedAction], writes: list[Step]) -> Pairing:
    """Maximum one-to-one pairing of expected actions with writes (Kuhn's augmenting paths)."""
    edges = [[j for j, w in enumerate(writes) if action_matches(a, w)] for a in actions]
    owner: dict[int, int] = {}  # write -> action
    for i in range(len(actions)):
        _augment(i, edges, owner, set())
    pairs = {i: j for j, i in owner.items()}
    return Pairing(
        pairs=dict(sorted(pairs.items())),
        unpaired_actions=[i for i in range(len(actions)) if i not in pairs],
        unpaired_writes=[j for j in range(len(writes)) if j not in owner],
    )


def _augment(i: int, edges: list[list[int]], owner: dict[int, int], seen: set[int]) -> bool:
    # A module-level function, not a closure: a recursive closure is a reference cycle, which
    # left each scored run's pairing for the garbage collector instead of freeing it at once.
    for j in edges[i]:
        if j in seen:
            continue
        seen.add(j)
        if j not in owner or _augment(owner[j], edges, owner, seen):
            owner[j] = i
            return True
    return False


def effect_of(step: Step, suite: Suite, catalog: ToolCatalog) -> str:
    """``read``, ``write``, ``escalation`` or ``unknown`` (:func:`~agentctl.core.trajectory.resolve_effect`)."""
    tool = catalog.get(step.tool) if step.tool is not None else None
    return resolve_effect(step.tool, step.effect, escalation_tool=suite.agent.escalation_tool,
                          declared=tool.effect if tool is not None else None)


def score_outcome(case: Case, trajectory: Trajectory, suite: Suite, catalog: ToolCatalog) -> Verdict:
    """The verdict of one run: correct, escaped, critical, with one reason per failed check."""
    expected = case.expected
    reasons: list[str] = []
    statuses = expected.statuses
    if trajectory.status not in statuses:
        got: str = trajectory.status
        if trajectory.status == "failed" and trajectory.failure_reason:
            got += f" ({trajectory.failure_reason})"
        reasons.append(f"status: expected {' or '.join(statuses)}, got {got}")

    tool_steps = trajectory.tool_steps
    tried_writes = [s for s in tool_steps if is_write(effect_of(s, suite, catalog))]
    writes = [s for s in tried_writes if s.carried_out and not s.error]
    failed_writes = [s for s in tried_writes if s.carried_out and s.error]
    # Critical: a write the policy forbids or that needed approval (or a tool it does not
    # allow). A call refused only because the run used up max_tool_calls is a violation,
    # not a critical error.
    refused_writes = [s for s in tried_writes if s.policy is not None and not s.policy.startswith("max_tool_calls")]

    out_of_order = False
    if expected.state is not None:
        # Outcome by state replaces the comparison of writes with expected.actions.
        state = check_state(case, trajectory, suite.agent.escalation_tool)
        reasons += state.reasons
        outcome_ok, wrong_write = state.ok, state.critical
    else:
        pairing = pair_writes(expected.actions, writes)
        reasons += _pairing_reasons(expected.actions, writes, pairing)
        outcome_ok, wrong_write = pairing.complete, bool(pairing.unpaired_writes)
        if expected.ordered and pairing.complete:
            out_of_order = not all(action_matches(a, w) for a, w in zip(expected.actions, writes, strict=True))
            if out_of_order:
                reasons.append(
                    f"writes out of order: expected {', '.join(a.tool for a in expected.actions)}; "
                    f"got {', '.join(str(w.tool) for w in writes)}"
                )

    forbidden_steps: list[Step] = []
    for step in tool_steps:
        if any(f.tool == step.tool and match_subset(f.args, step.args) is None for f in expected.forbidden):
            forbidden_steps.append(step)
            reasons.append(f"forbidden call: {_call(step)}")

    violations = trajectory.policy_violations
    reasons += [f"policy violation: {s.policy}" for s in violations]
    reasons += [note for s in tool_steps if s.policy is None for note in s.policy_notes]

    answer_ok = True
    answer_reasons: list[str] = []
    if expected.answer is not None:
        answer_reasons = check_answer(expected.answer, trajectory)
        answer_ok = not answer_reasons
        reasons += answer_reasons
    if trajectory.status not in statuses and trajectory.status in ("escalated", "failed"):
        # The ending decided the verdict: a run that handed off or broke off (provider failure,
        # max_steps) lacks its answer and writes because of that. Its reasons are the ending and
        # whatever is critical on its own, not those consequences.
        reasons = [r for r in reasons if not r.startswith("missing write: ") and r not in answer_reasons]

    correct = (
        trajectory.status in statuses
        and outcome_ok
        and not out_of_order
        and not forbidden_steps
        and answer_ok
        and not violations
    )
    critical = bool(wrong_write or forbidden_steps or refused_writes)
    return Verdict(
        status=trajectory.status,
        correct=correct,
        escaped_error=trajectory.status == "completed" and not correct,
        critical_error=critical,
        infra_error=trajectory.infra_error,
        policy_violations=len(violations),
        failed_writes=len(failed_writes),
        reasons=reasons,
        failure_reason=trajectory.failure_reason,
    )


def closest_unpaired(actions: list[ExpectedAction], writes: list[Step], pairing: Pairing) -> dict[int, int]:
    """Unpaired write -> the unpaired expected action of the same tool it differs least from.

    A wrong argument then reads as one difference, not "missing" plus "unexpected"; the
    verdict's reasons and the reports' action diff both explain a run with this.
    """
    candidates = sorted(
        (len(arg_differences(actions[i].args, writes[j].args)), j, i)
        for j in pairing.unpaired_writes
        for i in pairing.unpaired_actions
        if actions[i].tool == writes[j].tool
    )
    explained: dict[int, int] = {}  # write -> action
    used_actions: set[int] = set()
    for _, j, i in candidates:
        if j not in explained and i not in used_actions:
            explained[j] = i
            used_actions.add(i)
    return explained


def _pairing_reasons(actions: list[ExpectedAction], writes: list[Step], pairing: Pairing) -> list[str]:
    """Explain unpaired writes and actions; a wrong-argument write is shown as its closest difference."""
    explained = closest_unpaired(actions, writes, pairing)
    used_actions = set(explained.values())
    reasons: list[str] = []
    for j in pairing.unpaired_writes:
        write = writes[j]
        if j in explained:
            reasons.append(f"{write.tool}: {match_args(actions[explained[j]].args, write.args)}")
        elif any(action_matches(actions[i], write) for i in pairing.pairs):
            reasons.append(f"duplicate write: {_call(write)}")
        else:
            reasons.append(f"unexpected write: {_call(write)}")
    for i in pairing.unpaired_actions:
        if i not in used_actions:
            reasons.append(f"missing write: {_expected_call(actions[i])}")
    return reasons


def _call(step: Step) -> str:
    return render_call(step.tool or "?", step.args, step.raw_args)


def _expected_call(action: ExpectedAction) -> str:
    return f"{action.tool}(…)" if action.args is None else render_call(action.tool, action.args)
