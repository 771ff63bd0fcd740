"""The simulated shop behind the support-triage dataset: Lumen Home, a smart-home company.

Customers, products, orders, charges and tickets, plus the :class:`Story` of one ticket
(what happened, what the right handling is). Everything is drawn from a seeded
``random.Random`` so the dataset regenerates byte for byte.
"""

from __future__ import annotations

import hashlib
import random
import string
from dataclasses import dataclass, field
from typing import Any

TODAY = "2026-05-14"

FIRST_NAMES = [
    "Maria",
    "James",
    "Aisha",
    "Tom",
    "Priya",
    "Daniel",
    "Sofia",
    "Kenji",
    "Olivia",
    "Mateo",
    "Grace",
    "Lukas",
    "Fatima",
    "Ethan",
    "Chloe",
    "Rahul",
    "Hannah",
    "Diego",
    "Emma",
    "Wei",
    "Nora",
    "Samuel",
    "Ines",
    "Kwame",
    "Laura",
    "Marcus",
    "Yuki",
    "Ana",
    "Ben",
    "Zoe",
    "Omar",
    "Claire",
    "Tariq",
    "Julia",
    "Pedro",
    "Megan",
    "Ivan",
    "Leila",
    "Chris",
    "Amara",
    "Patrick",
    "Mei",
    "Jonas",
    "Rosa",
    "Kevin",
    "Elif",
    "Sean",
    "Camila",
    "Andre",
    "Holly",
]
LAST_NAMES = [
    "Lopez",
    "Carter",
    "Khan",
    "Nguyen",
    "Patel",
    "Schmidt",
    "Rossi",
    "Tanaka",
    "Brown",
    "Garcia",
    "O'Neill",
    "Müller",
    "Haddad",
    "Wright",
    "Dubois",
    "Sharma",
    "Fischer",
    "Alvarez",
    "Wilson",
    "Zhang",
    "Berg",
    "Okafor",
    "Silva",
    "Mensah",
    "Kowalski",
    "Reid",
    "Sato",
    "Costa",
    "Murphy",
    "Novak",
    "Farouk",
    "Martin",
    "Aziz",
    "Weber",
    "Santos",
    "Hughes",
    "Petrov",
    "Karimi",
    "Evans",
    "Adeyemi",
]
EMAIL_DOMAINS = [
    "gmail.com",
    "outlook.com",
    "yahoo.com",
    "icloud.com",
    "proton.me",
    "hotmail.co.uk",
    "gmx.de",
]

# name, price in cents, typical defect (for defective-item tickets)
PRODUCTS: list[tuple[str, int, str]] = [
    ("Lumen Cam 2", 5999, "it won't power on, the LED never lights up"),
    ("Lumen Cam 2 (3-pack)", 14999, "one of the three cameras shows only a black image"),
    ("Lumen Doorbell Pro", 12999, "the faceplate was cracked when I opened the box"),
    ("Smart Plug (4-pack)", 3499, "two of the plugs click on and off by themselves"),
    ("Lumen Hub", 8900, "it reboots every few minutes and never finishes setup"),
    ("Motion Sensor", 2499, "the battery door snapped off on day one"),
    ("Lumen Floodlight Cam", 17900, "the left light panel flickers constantly"),
    ("Indoor Siren", 3999, "it makes no sound at all during the test"),
    ("Lumen Lock", 22900, "the keypad stopped responding after a week"),
    ("Lumen Chime", 2999, "it buzzes loudly even when nobody rings"),
    ("Solar Panel for Cam 2", 4499, "it doesn't charge the camera at all, even in full sun"),
    ("Water Leak Sensor", 1999, "it keeps reporting a leak on a dry floor"),
    ("Outdoor Smart Plug", 2799, "the rubber seal was torn and water got in"),
    ("Contact Sensor (2-pack)", 2999, "one sensor never shows up in the app"),
]
CHEAP = [p for p in PRODUCTS if p[1] <= 9000]
PRICEY = [p for p in PRODUCTS if p[1] > 10000]
ACCESSORIES = [("Mounting Kit", 1499), ("USB-C Power Adapter", 1299), ("Weatherproof Cable", 999)]
SHIPPING_CENTS = 599
FREE_SHIPPING_OVER = 7500

CARRIERS = ["UPS", "USPS", "FedEx", "DHL"]
PLANS = {"Protect Basic": (399, 3999), "Protect Plus": (1299, 9999)}  # monthly, annual cents

PRIORITIES = ["low", "normal", "high", "urgent"]
GROUPS = ["billing", "technical", "shipping", "accounts", "trust_safety"]


def money(cents: int) -> str:
    """US-style amount with thousands separators: ``$1,249.90``."""
    return f"${cents / 100:,.2f}"


def digest(*parts: Any, n: int = 16) -> str:
    """A stable pseudo-random id part derived from the arguments (not from the RNG)."""
    text = "|".join(str(p) for p in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:n]


class Ids:
    """Unique, realistic-looking identifiers drawn from one RNG."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._used: set[str] = set()

    def _unique(self, make: Any) -> Any:
        while True:
            value = make()
            if str(value) not in self._used:
                self._used.add(str(value))
                return value

    def ticket(self) -> int:
        return int(self._unique(lambda: self.rng.randint(800000, 899999)))

    def order(self) -> str:
        return str(self._unique(lambda: str(self.rng.randint(100000, 199999))))

    def alnum(self, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def customer(self) -> str:
        return str(self._unique(lambda: "cus_" + self.alnum(14)))

    def charge(self) -> str:
        return str(self._unique(lambda: "ch_3P" + self.alnum(19)))

    def tracking(self, carrier: str) -> str:
        digits = string.digits
        if carrier == "UPS":
            return "1Z" + self.alnum(6, string.ascii_uppercase + digits) + self.alnum(10, digits)
        if carrier == "USPS":
            return "9400" + self.alnum(18, digits)
        if carrier == "FedEx":
            return self.alnum(12, digits)
        return self.alnum(10, digits)


def day(offset: int, hour: int = 10, minute: int = 0) -> str:
    """A timestamp ``offset`` days before TODAY (2026-05-14)."""
    import datetime as dt

    base = dt.datetime(2026, 5, 14, hour, minute, tzinfo=dt.UTC) - dt.timedelta(days=offset)
    return base.strftime("%Y-%m-%dT%H:%M:%SZ")


def later(timestamp: str, seconds: int) -> str:
    """``timestamp`` plus some seconds (a retried payment lands a minute or two later)."""
    import datetime as dt

    t = dt.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ") + dt.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def human_date(offset: int) -> str:
    import datetime as dt

    d = dt.date(2026, 5, 14) - dt.timedelta(days=offset)
    return f"{d.strftime('%B')} {d.day}"


def add_typos(rng: random.Random, text: str, count: int = 1) -> str:
    """Swap two letters inside a few longer words, the way people type on phones."""
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 6 and w.isalpha()]
    for i in rng.sample(candidates, min(count, len(candidates))):
        w = words[i]
        j = rng.randint(1, len(w) - 3)
        words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


@dataclass
class Customer:
    customer_id: str
    first: str
    last: str
    email: str
    tier: str

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass
class World:
    """What the shop's systems know about one case; the tools answer from this."""

    tickets: dict[int, dict[str, Any]] = field(default_factory=dict)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    orders: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Story:
    """One ticket: the case's input, the shop's data, and the right handling.

    The right handling is written as the calls a careful agent makes; the golden
    ``expected`` block and the recorded runs are both derived from it.
    """

    family: str
    ticket_id: int
    customer: Customer
    input: str | list[dict[str, Any]]
    tags: list[str]
    world: World
    reads: list[list[tuple[str, dict[str, Any]]]]
    """Read calls a careful agent makes, grouped by model turn."""
    group: str
    priority: str | list[str]
    """The exact priority, or the acceptable ones (the first is what prod picks)."""
    statuses: list[str]
    """Ticket statuses an update may set (the argument is optional)."""
    set_status: str | None
    """The status prod sets (``None``: leaves it out)."""
    reply: str | None = None
    reply_match: Any = field(default_factory=lambda: {"$any": True})
    refund: dict[str, Any] | None = None
    closes: list[int] = field(default_factory=list)
    escalate: str | None = None
    """Reason given to the human when the right outcome is a hand-off."""
    escalate_note: str | None = None
    final: str | None = None
    """Prod's closing message (what the agent says it did)."""
    forbidden: list[dict[str, Any]] = field(default_factory=list)
    answer: dict[str, Any] | None = None
    ordered: bool = False
    extra_fixtures: list[dict[str, Any]] = field(default_factory=list)
    alt: dict[str, Any] = field(default_factory=dict)
    """Material for the candidate's planted mistakes (wrong charge, texts of a wrong refund...)."""

    @property
    def prod_priority(self) -> str:
        return self.priority if isinstance(self.priority, str) else self.priority[0]


def vip_priority(base: list[str] | str, vip: bool) -> list[str] | str:
    """VIP customers are never below high."""
    if not vip:
        return base
    return ["high", "urgent"]
