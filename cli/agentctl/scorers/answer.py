"""Checks on what the agent said (``expected.answer`` of a golden case).

Text is compared case-insensitively, with thousands separators between digits removed on
both sides, so ``23,553`` in a reply matches ``23553`` in the case and the other way round.
"""

from __future__ import annotations

import re

from agentctl.core.trajectory import Trajectory
from agentctl.datasets.models import AnswerCheck

# A comma (or thin/no-break space, or apostrophe) between a digit and a group of exactly
# three digits: "23,553" and "1,234,567", but not "1,2" or "3, 4".
_THOUSANDS = re.compile(r"(?<=\d)[,\u00a0\u202f'](?=\d{3}(?!\d))")


def plain_answer(text: str) -> str:
    """``text`` as answer checks compare it: case-folded, thousands separators removed."""
    return _THOUSANDS.sub("", text).casefold()


def check_answer(check: AnswerCheck, trajectory: Trajectory) -> list[str]:
    """One reason per failed check; empty when the answer passes.

    ``scope: all`` looks at every assistant text message, ``scope: final`` at the last one.
    ``regex`` uses ``re.search`` with IGNORECASE and passes when it is found in the text as
    written or in the text with thousands separators removed.
    """
    if check.scope == "final":
        texts = [trajectory.final_text] if trajectory.final_text else []
        subject = "final answer"
    else:
        texts = trajectory.texts
        subject = "answer"
    raw = "\n".join(texts)
    plain = plain_answer(raw)
    reasons: list[str] = []
    for needle in check.contains:
        if plain_answer(needle) not in plain:
            reasons.append(f"{subject} does not mention {needle!r}")
    for needle in check.not_contains:
        if plain_answer(needle) in plain:
            reasons.append(f"{subject} mentions {needle!r}")
    if check.regex is not None:
        try:
            pattern = re.compile(check.regex, re.IGNORECASE)
        except re.error as exc:
            reasons.append(f"answer regex {check.regex!r} is invalid ({exc})")
        else:
            if pattern.search(raw) is None and pattern.search(_THOUSANDS.sub("", raw)) is None:
                reasons.append(f"{subject} does not match /{check.regex}/")
    if not texts and reasons:
        reasons.insert(0, f"no {subject}: the agent said nothing")
    return reasons
