"""How Lumen Home's records and its customers' messages are drawn: :class:`Shop` makes
customers, orders, charges and tickets, and writes a ticket the way a person would.
"""

from __future__ import annotations

import random
from typing import Any

from world import (
    EMAIL_DOMAINS,
    FIRST_NAMES,
    FREE_SHIPPING_OVER,
    LAST_NAMES,
    SHIPPING_CENTS,
    Customer,
    Ids,
    add_typos,
    day,
    later,
)

NOT_ESCALATED = ["open", "pending", "solved"]
WHILE_ESCALATED = ["open", "pending"]
REFUND_RE = {"$regex": "(?i)refund"}


class Shop:
    """Draws customers, orders, charges and tickets for one case at a time."""

    def __init__(self, rng: random.Random, ids: Ids) -> None:
        self.rng = rng
        self.ids = ids

    # --- people and records -----------------------------------------------------------

    def customer(self, vip: bool = False) -> Customer:
        r = self.rng
        first, last = r.choice(FIRST_NAMES), r.choice(LAST_NAMES)
        local = r.choice(
            [f"{first}.{last}", f"{first[0]}{last}", f"{first}{r.randint(1, 99)}", f"{first}_{last[:3]}"]
        )
        local = local.lower().replace("'", "").replace("ü", "u")
        return Customer(
            self.ids.customer(),
            first,
            last,
            f"{local}@{r.choice(EMAIL_DOMAINS)}",
            "vip" if vip else "standard",
        )

    def customer_record(self, c: Customer, **extra: Any) -> dict[str, Any]:
        r = self.rng
        record: dict[str, Any] = {
            "customer_id": c.customer_id,
            "name": c.name,
            "email": c.email,
            "tier": c.tier,
            "customer_since": day(r.randint(60, 1400))[:10],
            "lifetime_value_cents": r.randint(150_00, 900_00) * (6 if c.tier == "vip" else 1),
            "subscription": r.choice(
                [None, None, "Protect Basic (monthly)", "Protect Plus (monthly)", "Protect Plus (annual)"]
            ),
            "two_factor_enabled": r.random() < 0.6,
        }
        record.update(extra)
        return record

    def ticket(
        self, tid: int, c: Customer, subject: str, channel: str, created: str, **extra: Any
    ) -> dict[str, Any]:
        if created.endswith(":00:00Z"):  # spread tickets over the hour
            created = later(created, self.rng.randint(0, 3599))
        record: dict[str, Any] = {
            "ticket_id": tid,
            "subject": subject,
            "requester": {"customer_id": c.customer_id, "email": c.email, "name": c.name},
            "channel": channel,
            "status": "open",
            "priority": None,
            "group": None,
            "created_at": created,
        }
        record.update(extra)
        return record

    def items(self, pool: list[tuple[str, int, str]], n: int) -> list[dict[str, Any]]:
        chosen = self.rng.sample(pool, n)
        return [
            {
                "sku": "LH-" + "".join(ch for ch in name.upper() if ch.isalnum())[:10],
                "name": name,
                "qty": 1,
                "unit_price_cents": price,
            }
            for name, price, _ in chosen
        ]

    def order(
        self,
        c: Customer,
        items: list[dict[str, Any]],
        placed_offset: int,
        status: str,
        tracking: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        subtotal = sum(i["qty"] * i["unit_price_cents"] for i in items)
        shipping = 0 if subtotal >= FREE_SHIPPING_OVER else SHIPPING_CENTS
        return {
            "order_id": self.ids.order(),
            "type": "purchase",
            "placed_at": day(placed_offset, self.rng.randint(7, 22), self.rng.randint(0, 59)),
            "status": status,
            "items": items,
            "subtotal_cents": subtotal,
            "shipping_cents": shipping,
            "total_cents": subtotal + shipping,
            "charges": [],
            "tracking": tracking,
            "ship_to": self.address(),
        }

    def address(self) -> str:
        r = self.rng
        street = r.choice(
            [
                "Maple Ave",
                "Harbor St",
                "Elm Court",
                "Sunset Blvd",
                "King St W",
                "Oak Lane",
                "Riverside Dr",
                "Pine Rd",
            ]
        )
        city = r.choice(
            [
                "Portland, OR",
                "Austin, TX",
                "Columbus, OH",
                "Raleigh, NC",
                "Denver, CO",
                "Madison, WI",
                "Tampa, FL",
                "Boise, ID",
            ]
        )
        return f"{r.randint(12, 4800)} {street}, {city}"

    def charge(
        self, order: dict[str, Any], amount: int, created: str, last4: str, **extra: Any
    ) -> dict[str, Any]:
        record: dict[str, Any] = {
            "charge_id": self.ids.charge(),
            "amount_cents": amount,
            "currency": "usd",
            "created_at": created,
            "status": "succeeded",
            "order_id": order["order_id"],
            "description": f"Lumen Home order #{order['order_id']}",
            "card": {"brand": ["visa", "mastercard", "amex", "discover"][int(last4) % 4], "last4": last4},
            "refunded": False,
            "amount_refunded_cents": 0,
        }
        record.update(extra)
        order["charges"].append(record["charge_id"])
        return record

    def tracking(self, status: str, last_scan_offset: int, eta_offset: int | None = None) -> dict[str, Any]:
        carrier = self.rng.choice(["UPS", "USPS", "FedEx"])
        info: dict[str, Any] = {
            "carrier": carrier,
            "number": self.ids.tracking(carrier),
            "status": status,
            "last_scan_at": day(last_scan_offset, self.rng.randint(6, 20)),
            "last_scan_location": self.rng.choice(
                ["Louisville, KY", "Memphis, TN", "Ontario, CA", "Chicago, IL", "Newark, NJ"]
            ),
        }
        if eta_offset is not None:
            info["estimated_delivery"] = day(eta_offset)[:10]
        return info

    # --- how people write --------------------------------------------------------------

    def header(self, tid: int, c: Customer, subject: str, channel: str) -> str:
        return f"[Ticket #{tid} · {channel} · from {c.email}]\nSubject: {subject}\n\n"

    def voice(self, body: str, c: Customer) -> str:
        """Greeting, sign-off and the odd typo, so no two tickets read alike."""
        r = self.rng
        greet = r.choice(["", "", "Hi,\n\n", "Hello,\n\n", "Hi there,\n\n", "Good morning,\n\n", "Hey\n\n"])
        sign = r.choice(
            [
                "",
                "",
                f"\n\nThanks,\n{c.first}",
                f"\n\n{c.first} {c.last}",
                f"\n\n- {c.first}",
                "\n\nThank you",
                f"\n\nRegards,\n{c.name}",
            ]
        )
        if r.random() < 0.2:
            body = add_typos(r, body, r.randint(1, 2))
        return greet + body + sign

    def as_input(
        self, tid: int, c: Customer, subject: str, channel: str, body: str, followup: tuple[str, str] | None
    ) -> str | list[dict[str, Any]]:
        """One message, or (for chat follow-ups) a short conversation that already happened."""
        head = self.header(tid, c, subject, channel)
        if followup is None:
            return head + self.voice(body, c)
        opener, answer = followup
        question = self.rng.choice(
            [
                "Sorry to hear that! Could you give me your order number so I can take a look?",
                "Thanks for reaching out. Which order is this about? The order number is in your confirmation email.",
                "I can help with that. Can you share the order number?",
            ]
            if "order" in answer.lower() or any(ch.isdigit() for ch in answer[:12])
            else [
                "Sorry about that! Can you tell me a bit more about what's happening?",
                "Thanks for getting in touch. Could you describe the problem in a little more detail?",
            ]
        )
        return [
            {"role": "user", "content": head + opener},
            {"role": "assistant", "content": question},
            {"role": "user", "content": answer},
        ]


def _reads_orders(tid: int, c: Customer, query: str | None) -> list[list[tuple[str, dict[str, Any]]]]:
    search: dict[str, Any] = {"customer_id": c.customer_id}
    if query:
        search["query"] = query
    return [
        [("get_ticket", {"ticket_id": tid})],
        [("get_customer", {"customer_id": c.customer_id}), ("search_orders", search)],
    ]


def _sign(style: str) -> str:
    return "\n\nBest,\nLumen Support" if style == "prod" else "\n\n- Lumen Support"
