"""Lumen Home's systems as a stateful environment (DESIGN.md "Environments: stateful tools").

``state.json`` (written by ``generate.py``) is the whole shop: tickets, customers, orders and
charges of every case, plus what agents have done (``issued_refunds`` per charge, ``replies``
per ticket). Each run gets its own copy; reads see the run's earlier writes.

The answers are those of the generator's backend (``recorder.Backend``), so replaying the
recordings against this environment gives the recorded outputs, and a live candidate that
reads with other arguments, or after a write, gets the true answer.
"""

from __future__ import annotations

import hashlib
from typing import Any


def _digest(*parts: Any, n: int) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode("utf-8")).hexdigest()[:n]


def _not_found(what: str, key: Any) -> dict[str, Any]:
    return {"error": "not_found", "message": f"No {what} {key}."}


class Environment:
    """One run's view of the shop."""

    def __init__(self, case: dict[str, Any], state: dict[str, Any]) -> None:
        self.case = case
        self.state = state

    def snapshot(self) -> dict[str, Any]:
        return self.state

    def call(self, tool: str, args: dict[str, Any]) -> Any:
        handler = getattr(self, "_" + tool, None)
        if handler is None or tool == "escalate_to_human":
            raise NotImplementedError(tool)
        return handler(**args)

    # --- reads -------------------------------------------------------------------------

    def _get_ticket(self, ticket_id: int) -> Any:
        return self.state["tickets"].get(str(ticket_id)) or _not_found("ticket", ticket_id)

    def _get_customer(self, customer_id: str) -> Any:
        return self.state["customers"].get(customer_id) or _not_found("customer", customer_id)

    def _search_orders(self, customer_id: str, query: str | None = None) -> Any:
        return {"orders": self.state["orders"].get(customer_id, [])}

    def _get_charge(self, charge_id: str) -> Any:
        return self.state["charges"].get(charge_id) or _not_found("charge", charge_id)

    # --- writes ------------------------------------------------------------------------

    def _update_ticket(self, ticket_id: int, **fields: Any) -> Any:
        ticket = self.state["tickets"].get(str(ticket_id))
        if ticket is None:
            return _not_found("ticket", ticket_id)
        ticket.update(fields)
        return {"ok": True, "ticket_id": ticket_id, "updated": fields}

    def _issue_refund(self, charge_id: str, amount_cents: int, reason: str) -> Any:
        charge = self.state["charges"].get(charge_id)
        if charge is None:
            return {"error": "no_such_charge", "message": f"No charge {charge_id}."}
        if charge.get("refunded"):
            ref = (charge.get("refunds") or [{}])[-1].get("refund_id", "")
            return {"error": "charge_already_refunded",
                    "message": f"Charge {charge_id} has already been fully refunded ({ref})."}
        left = charge["amount_cents"] - charge["amount_refunded_cents"]
        if amount_cents > left:
            return {
                "error": "amount_exceeds_refundable",
                "message": f"Refund of {amount_cents} cents exceeds the refundable balance of {left} cents on {charge_id}.",
                "refundable_cents": left,
            }
        refund_id = "re_3P" + _digest(charge_id, amount_cents, reason, n=19)
        charge["amount_refunded_cents"] += amount_cents
        charge["refunded"] = charge["amount_refunded_cents"] >= charge["amount_cents"]
        self.state["issued_refunds"].setdefault(charge_id, []).append(
            {"refund_id": refund_id, "amount_cents": amount_cents, "reason": reason}
        )
        return {
            "ok": True,
            "refund_id": refund_id,
            "charge_id": charge_id,
            "amount_cents": amount_cents,
            "status": "pending",
            "expected_arrival": "5-10 business days",
        }

    def _close_ticket(self, ticket_ids: list[int]) -> Any:
        tickets = self.state["tickets"]
        unknown = [t for t in ticket_ids if str(t) not in tickets]
        if unknown:
            return _not_found("ticket", unknown[0])
        for t in ticket_ids:
            tickets[str(t)]["status"] = "closed"
        return {"ok": True, "closed": ticket_ids}

    def _send_reply(self, ticket_id: int, body: str) -> Any:
        ticket = self.state["tickets"].get(str(ticket_id))
        if ticket is None:
            return _not_found("ticket", ticket_id)
        self.state["replies"].setdefault(str(ticket_id), []).append(body)
        return {
            "ok": True,
            "message_id": "msg_" + _digest(ticket_id, body, n=12),
            "sent_to": ticket["requester"]["email"],
        }
