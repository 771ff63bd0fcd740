"""The support-triage tool catalog (written to tools.yaml) and a small YAML writer.

The writer exists because the generator is stdlib only; it emits block YAML with strings
quoted as JSON (a valid YAML double-quoted scalar), which reads back identically.
"""

from __future__ import annotations

import json
import re
from typing import Any

PRIORITY = ["low", "normal", "high", "urgent"]
GROUP = ["billing", "technical", "shipping", "accounts", "trust_safety"]
STATUS = ["open", "pending", "solved"]
REASON = ["duplicate", "defective", "not_received", "goodwill", "cancellation"]


def _obj(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


TICKET_ID = {"type": "integer", "minimum": 1, "description": "Numeric ticket id, e.g. 883192."}

TOOLS: list[dict[str, Any]] = [
    {
        "name": "get_ticket",
        "description": "Fetch a support ticket by id: subject, requester, channel, status, priority, group.",
        "effect": "read",
        "parameters": _obj({"ticket_id": TICKET_ID}, ["ticket_id"]),
    },
    {
        "name": "get_customer",
        "description": "Fetch a customer's profile: name, email, tier (standard or vip), subscription, security events.",
        "effect": "read",
        "parameters": _obj(
            {
                "customer_id": {
                    "type": "string",
                    "pattern": "^cus_",
                    "description": "Customer id from the ticket's requester.",
                }
            },
            ["customer_id"],
        ),
    },
    {
        "name": "search_orders",
        "description": "List a customer's orders and subscription renewals, newest first, with items, totals, charge ids and tracking.",
        "effect": "read",
        "parameters": _obj(
            {
                "customer_id": {"type": "string", "pattern": "^cus_"},
                "query": {
                    "type": "string",
                    "description": "Optional free text: an order number, product name or date.",
                },
            },
            ["customer_id"],
        ),
    },
    {
        "name": "get_charge",
        "description": "Fetch a card charge: amount in cents, time, card, refund state and risk signals.",
        "effect": "read",
        "parameters": _obj({"charge_id": {"type": "string", "pattern": "^ch_"}}, ["charge_id"]),
    },
    {
        "name": "update_ticket",
        "description": "Set a ticket's priority, group and/or status. Route every ticket with one call.",
        "effect": "write",
        "parameters": _obj(
            {
                "ticket_id": TICKET_ID,
                "priority": {"type": "string", "enum": PRIORITY},
                "group": {"type": "string", "enum": GROUP},
                "status": {"type": "string", "enum": STATUS},
            },
            ["ticket_id"],
        ),
    },
    {
        "name": "issue_refund",
        "description": "Refund part or all of a charge to the original card. Amounts are in cents.",
        "effect": "write",
        "cost_usd": 0.002,
        "parameters": _obj(
            {
                "charge_id": {"type": "string", "pattern": "^ch_"},
                "amount_cents": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "Amount to refund in cents (4599 = $45.99).",
                },
                "reason": {"type": "string", "enum": REASON},
            },
            ["charge_id", "amount_cents", "reason"],
        ),
    },
    {
        "name": "close_ticket",
        "description": "Close tickets. Accepts several ids, but support policy allows one ticket per call.",
        "effect": "write",
        "parameters": _obj(
            {
                "ticket_ids": {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1},
            },
            ["ticket_ids"],
        ),
    },
    {
        "name": "send_reply",
        "description": "Send an email reply to the ticket's requester.",
        "effect": "write",
        "parameters": _obj(
            {
                "ticket_id": TICKET_ID,
                "body": {
                    "type": "string",
                    "minLength": 1,
                    "description": "Plain-text message to the customer.",
                },
            },
            ["ticket_id", "body"],
        ),
    },
    {
        "name": "escalate_to_human",
        "description": "Hand the ticket to a human specialist (large refunds, fraud, account takeover, order edits). Ends your turn.",
        "effect": "write",
        "parameters": _obj(
            {
                "ticket_id": TICKET_ID,
                "reason": {
                    "type": "string",
                    "minLength": 1,
                    "description": "What the specialist needs to know and decide.",
                },
            },
            ["ticket_id", "reason"],
        ),
    },
]

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return (
            value
            if _PLAIN.match(value) and value.lower() not in _RESERVED
            else json.dumps(value, ensure_ascii=False)
        )
    return json.dumps(value)


def _emit(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                if isinstance(item, list) and all(not isinstance(x, (dict, list)) for x in item):
                    lines.append(f"{pad}{key}: [{', '.join(_scalar(x) for x in item)}]")
                else:
                    lines.append(f"{pad}{key}:")
                    lines += _emit(item, indent + 2)
            else:
                lines.append(
                    f"{pad}{key}: {_scalar(item) if not isinstance(item, (dict, list)) else json.dumps(item)}"
                )
    elif isinstance(value, list):
        for item in value:
            sub = _emit(item, indent + 2)
            lines.append(f"{pad}- {sub[0].lstrip()}")
            lines += sub[1:]
    return lines


def tools_yaml(tools: list[dict[str, Any]]) -> str:
    head = [
        '# Tool catalog of the support-triage agent (DESIGN.md "Tool catalog").',
        "# Generated by generate.py; edit the TOOLS list in catalog.py, not this file.",
    ]
    body: list[str] = []
    for tool in tools:
        body.append("")
        body += _emit([tool], 0)
    return "\n".join(head + body) + "\n"
