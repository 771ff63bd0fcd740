"""Generate the airline-bookings dataset: state.json, cases.jsonl and runs.jsonl (deterministic).

    python datasets/airline-bookings/generate.py

SkyWay Airlines' world (users, reservations, flights) is drawn from a seeded random generator.
Each case is a customer with instructions (``user.instructions``) for the simulated user and
the final state the conversation must leave (``expected.state``). Every case has one recorded
conversation per label, user turns included, made by running the tools against
``environment.py`` on the case's own copy of the world:

- ``prod-2026-06`` (SkyWayAgent-v2 on gpt-4o): follows the airline's procedure every time;
- ``cand-2026-07`` (SkyWayAgent-v3 on gpt-4.1-mini): often takes another path (finds the
  user by email, re-reads the reservation after a change, searches again) and still leaves
  the right state; on some cases it writes the wrong state (charges the credit card the
  customer did not choose, cancels a non-refundable booking, adds bags without the fee).
"""

from __future__ import annotations

import copy
import importlib.util
import json
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SEED = 20260615
STOP = "###STOP###"
NOW = date(2026, 5, 15)
"""The day the conversations happen (the environment's clock is the case data)."""

AIRPORTS = ["JFK", "LAX", "SFO", "ORD", "SEA", "BOS", "MIA", "DFW", "ATL", "DEN"]
FIRST = ["Mia", "Noah", "Olivia", "Liam", "Ava", "Ethan", "Sofia", "Lucas", "Isabella", "Mason", "Amelia",
         "Yusuf", "Chen", "Priya", "Mateo", "Aisha", "Daniel", "Emma", "Raj", "Lena"]
LAST = ["Li", "Garcia", "Smith", "Kim", "Patel", "Johnson", "Nguyen", "Müller", "Rossi", "Brown", "Silva",
        "Khan", "Wilson", "Lopez", "Ahmed", "Clark", "Sato", "Hughes", "Novak", "Ortiz"]
DOMAINS = ["gmail.com", "icloud.com", "outlook.com", "proton.me", "yahoo.com"]
CABINS = ["basic_economy", "economy", "business"]
FREE_BAGS = {"regular": 0, "silver": 1, "gold": 2}
"""Free checked bags per passenger in economy, by membership (business: 3 for everyone)."""
LABELS = {"prod-2026-06": ("SkyWayAgent-v2", "gpt-4o-2024-08-06"),
          "cand-2026-07": ("SkyWayAgent-v3", "gpt-4.1-mini-2025-04-14")}


def _load_environment() -> type:
    spec = importlib.util.spec_from_file_location("airline_environment", HERE / "environment.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Environment  # type: ignore[no-any-return]


# ---- the world -------------------------------------------------------------------------------


def make_world(rng: random.Random) -> dict[str, Any]:
    flights: dict[str, Any] = {}
    routes = set()
    while len(routes) < 18:
        a, b = rng.sample(AIRPORTS, 2)
        routes.add((a, b))
    for n, (a, b) in enumerate(sorted(routes)):
        for k in range(2):  # a morning and an afternoon flight on every route
            number = f"SW{100 + 2 * n + k}"
            hour = rng.randint(6, 10) if k == 0 else rng.randint(13, 19)
            length = rng.randint(2, 6)
            base = rng.randint(90, 210)
            dates = {}
            for d in range(-12, 15):
                day = NOW + timedelta(days=d)
                swing = 1 + 0.15 * rng.random() + (0.2 if day.weekday() >= 4 else 0.0)
                prices = {"basic_economy": round(base * 0.6 * swing), "economy": round(base * swing),
                          "business": round(base * 3.1 * swing)}
                dates[day.isoformat()] = {
                    "status": "landed" if d < 0 else "available",
                    "available_seats": {"basic_economy": rng.randint(0, 9), "economy": rng.randint(2, 30),
                                        "business": rng.randint(0, 8)},
                    "prices": prices,
                }
            flights[number] = {"flight_number": number, "origin": a, "destination": b,
                               "departure": f"{hour:02d}:{rng.choice(['00', '15', '30', '45'])}",
                               "arrival": f"{(hour + length) % 24:02d}:{rng.choice(['05', '20', '35', '50'])}",
                               "dates": dates}
    users: dict[str, Any] = {}
    reservations: dict[str, Any] = {}
    for i in range(40):
        first, last = FIRST[i % len(FIRST)], LAST[(i * 7 + 3) % len(LAST)]
        user_id = f"{first.lower()}_{last.lower().replace('ü', 'u')}_{rng.randint(1000, 9999)}"
        card = f"credit_card_{rng.randint(1000000, 9999999)}"
        gift = f"gift_card_{rng.randint(1000000, 9999999)}"
        users[user_id] = {
            "user_id": user_id, "name": {"first_name": first, "last_name": last},
            "email": f"{first.lower()}.{last.lower().replace('ü', 'ue')}{rng.randint(1, 99)}@{rng.choice(DOMAINS)}",
            "dob": f"{rng.randint(1955, 2003)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "membership": rng.choice(["regular", "regular", "silver", "gold"]),
            "payment_methods": {
                card: {"id": card, "source": "credit_card", "brand": rng.choice(["visa", "mastercard", "amex"]),
                       "last_four": f"{rng.randint(0, 9999):04d}"},
                gift: {"id": gift, "source": "gift_card", "amount": float(rng.choice([300, 400, 500, 750]))},
            },
            "reservations": [],
        }
        for _ in range(2):
            rid = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(6))
            number = rng.choice(sorted(flights))
            f = flights[number]
            when = NOW + timedelta(days=rng.randint(3, 11))
            cabin = rng.choice(CABINS)
            booked = NOW - timedelta(days=rng.choice([0, 4, 9, 20]))
            price = f["dates"][when.isoformat()]["prices"][cabin]
            passengers = [{"first_name": first, "last_name": last, "dob": users[user_id]["dob"]}]
            reservations[rid] = {
                "reservation_id": rid, "user_id": user_id, "origin": f["origin"], "destination": f["destination"],
                "flight_type": "one_way", "cabin": cabin,
                "flights": [{"flight_number": number, "origin": f["origin"], "destination": f["destination"],
                             "date": when.isoformat(), "price": price}],
                "passengers": passengers, "payment_history": [{"payment_id": card, "amount": float(price)}],
                "created_at": f"{booked.isoformat()}T{rng.randint(7, 21):02d}:{rng.randint(0, 59):02d}:00",
                "total_baggages": 0, "nonfree_baggages": 0, "insurance": rng.choice(["yes", "no", "no"]),
                "status": "confirmed",
            }
            users[user_id]["reservations"].append(rid)
    return {"users": users, "reservations": reservations, "flights": flights}


# ---- conversations ---------------------------------------------------------------------------


class Recorder:
    """Builds one recorded conversation, answering tool calls from a fresh environment."""

    def __init__(self, env_cls: type, world: dict[str, Any], case: dict[str, Any], system: str,
                 rng: random.Random) -> None:
        self.env = env_cls(case, copy.deepcopy(world))
        self.rng = rng
        self.messages: list[dict[str, Any]] = [{"role": "system", "content": system},
                                               {"role": "user", "content": case["input"]}]
        self.calls = 0
        self.prompt_tokens = self.completion_tokens = 0
        self.latency = 0.0

    def _usage(self, msg: dict[str, Any]) -> None:
        p = 900 + 140 * len(self.messages) + self.rng.randint(0, 80)
        c = self.rng.randint(18, 90)
        lat = round(0.6 + c / 70 + self.rng.random() * 0.5, 2)
        msg["usage"] = {"prompt_tokens": p, "completion_tokens": c}
        msg["latency_s"] = lat
        self.prompt_tokens += p
        self.completion_tokens += c
        self.latency += lat

    def say(self, text: str) -> None:
        msg: dict[str, Any] = {"role": "assistant", "content": text}
        self._usage(msg)
        self.messages.append(msg)

    def user(self, text: str) -> None:
        self.latency += round(4 + self.rng.random() * 12, 1)  # the customer typing
        self.messages.append({"role": "user", "content": text})

    def tool(self, name: str, **args: Any) -> Any:
        self.calls += 1
        call_id = f"call_{self.rng.getrandbits(48):012x}"
        msg: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": [
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}]}
        self._usage(msg)
        self.messages.append(msg)
        if name == "transfer_to_human_agents":
            return None
        out = self.env.call(name, copy.deepcopy(args))
        self.messages.append({"role": "tool", "tool_call_id": call_id, "content": json.dumps(out)})
        return copy.deepcopy(out)

    def run(self, case: dict[str, Any], label: str, n: int) -> dict[str, Any]:
        agent, model = LABELS[label]
        price_in, price_out = (2.5, 10.0) if label.startswith("prod") else (0.4, 1.6)
        cost = (self.prompt_tokens * price_in + self.completion_tokens * price_out) / 1e6
        return {"run_id": f"{label}-{case['id']}-{n}", "case_id": case["id"], "label": label, "agent_id": agent,
                "model": model, "messages": self.messages,
                "usage": {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens},
                "cost_usd": round(cost, 6), "latency_s": round(self.latency, 2),
                "started_at": f"{NOW.isoformat()}T{10 + n % 8:02d}:{(7 * n) % 60:02d}:00Z"}


def _gift(user: dict[str, Any]) -> str:
    return next(k for k, v in user["payment_methods"].items() if v["source"] == "gift_card")


def _card(user: dict[str, Any]) -> str:
    return next(k for k, v in user["payment_methods"].items() if v["source"] == "credit_card")


def _identify(rec: Recorder, user: dict[str, Any], rid: str, by_email: bool) -> dict[str, Any]:
    """The agent asks who the customer is and reads the reservation (by id, or finding the user by email)."""
    if by_email:
        rec.say("I can help with that. What is the email address on your SkyWay account, and the reservation code?")
        rec.user(f"It's {user['email']}, reservation {rid}.")
        found = rec.tool("find_user_id_by_email", email=user["email"])
        rec.tool("get_user_details", user_id=found["user_id"])
    else:
        rec.say("I can help with that. Could you give me your user id and the reservation code?")
        rec.user(f"Sure, my user id is {user['user_id']} and the reservation is {rid}.")
        rec.tool("get_user_details", user_id=user["user_id"])
    return rec.tool("get_reservation_details", reservation_id=rid)  # type: ignore[no-any-return]


def change_date(rec: Recorder, world: dict[str, Any], c: dict[str, Any], style: str) -> None:
    user, rid = world["users"][c["metadata"]["user_id"]], c["metadata"]["reservation_id"]
    r = _identify(rec, user, rid, by_email=style == "diverge")
    leg = r["flights"][0]
    new_date = (date.fromisoformat(leg["date"]) + timedelta(days=1)).isoformat()
    found = rec.tool("search_direct_flight", origin=leg["origin"], destination=leg["destination"], date=new_date)
    same = next(f for f in found if f["flight_number"] == leg["flight_number"])
    diff = same["prices"][r["cabin"]] - leg["price"]
    moved = f"${diff} more than you paid" if diff >= 0 else f"${-diff} less than you paid"
    settle = f"charge ${diff} to" if diff >= 0 else f"refund ${-diff} to"
    gift, card = _gift(user), _card(user)
    payment = card if style == "wrong" else gift
    fare = f"{same['flight_number']} on {new_date} has {r['cabin']} seats for ${same['prices'][r['cabin']]} ({moved})."
    if style == "wrong":  # settles the difference on the card on file without asking which method to use
        rec.say(f"{fare} I'll {settle} your card on file. Shall I go ahead (yes/no)?")
        rec.user("Yes, go ahead.")
    else:
        rec.say(f"{fare} Which payment method should I use: your gift card {gift} or the credit card {card}?")
        rec.user("The gift card, please.")
        rec.say(f"To confirm: move {rid} to {same['flight_number']} on {new_date}, {r['cabin']}, and {settle} "
                f"gift card {gift}. Shall I proceed (yes/no)?")
        rec.user("Yes.")
    rec.tool("update_reservation_flights", reservation_id=rid, cabin=r["cabin"],
             flights=[{"flight_number": same["flight_number"], "date": new_date}], payment_id=payment)
    if style == "diverge":
        rec.tool("get_reservation_details", reservation_id=rid)  # checks its own write
    done = settle.replace("charge", "charged").replace("refund", "refunded")
    rec.say(f"Done: {rid} now flies {same['flight_number']} on {new_date}; I {done} "
            f"{'your card on file' if style == 'wrong' else 'your gift card'}.")
    rec.user(f"Great, thank you! {STOP}")


def cancel(rec: Recorder, world: dict[str, Any], c: dict[str, Any], style: str) -> None:
    user, rid = world["users"][c["metadata"]["user_id"]], c["metadata"]["reservation_id"]
    r = _identify(rec, user, rid, by_email=style == "diverge")
    allowed = c["metadata"]["cancellable"]
    if allowed or style == "wrong":
        reason = "it has travel insurance" if r["insurance"] == "yes" else "it was booked less than 24 hours ago" \
            if allowed else "as a one-time exception"
        rec.say(f"Reservation {rid} ({r['origin']} to {r['destination']} on {r['flights'][0]['date']}) can be "
                f"cancelled with a full refund to the original payment method, {reason}. Cancel it (yes/no)?")
        rec.user("Yes, please cancel it.")
        rec.tool("cancel_reservation", reservation_id=rid)
        if style == "diverge":
            rec.tool("get_reservation_details", reservation_id=rid)
        rec.say(f"{rid} is cancelled; the refund of ${r['payment_history'][0]['amount']:.2f} will reach your card "
                "in 5 to 7 business days.")
        rec.user(f"Thanks. {STOP}")
    else:
        rec.say(f"I'm sorry: {rid} is a {r['cabin'].replace('_', ' ')} fare booked more than 24 hours ago without "
                "travel insurance, so it cannot be cancelled for a refund. You can keep the booking.")
        rec.user("That's really frustrating. Are you sure there's nothing you can do?")
        rec.say("I understand. Under our policy I can't cancel it, but the booking stays valid and you can still fly.")
        rec.user(f"Fine, I'll keep it then. {STOP}")


def add_bags(rec: Recorder, world: dict[str, Any], c: dict[str, Any], style: str) -> None:
    user, rid = world["users"][c["metadata"]["user_id"]], c["metadata"]["reservation_id"]
    r = _identify(rec, user, rid, by_email=style == "diverge")
    bags = c["metadata"]["bags"]
    free = c["metadata"]["free_bags"]
    nonfree = 0 if style == "wrong" else max(0, bags - free)
    gift = _gift(user)
    rec.say(f"As a {user['membership']} member in {r['cabin'].replace('_', ' ')} you have {free} free checked "
            f"bag(s); {bags} bags means {max(0, bags - free)} at $50 each. Which payment method should I use?")
    rec.user("Use the gift card.")
    rec.tool("update_reservation_baggages", reservation_id=rid, total_baggages=bags, nonfree_baggages=nonfree,
             payment_id=gift)
    rec.say(f"Done: {rid} now has {bags} checked bags.")
    rec.user(f"Perfect. {STOP}")


FAMILIES = {"change_date": change_date, "cancel": cancel, "add_bags": add_bags}


# ---- cases -----------------------------------------------------------------------------------


def make_cases(world: dict[str, Any], rng: random.Random) -> list[dict[str, Any]]:
    cases = []
    by_cabin: dict[str, list[dict[str, Any]]] = {k: [] for k in CABINS}
    for r in sorted(world["reservations"].values(), key=lambda r: r["reservation_id"]):
        by_cabin[r["cabin"]].append(r)
    used: set[str] = set()

    def pick(cabins: list[str], test: Any = lambda r: True) -> dict[str, Any]:
        pool = [r for k in cabins for r in by_cabin[k] if r["user_id"] not in used and test(r)]
        r = rng.choice(pool)
        used.add(r["user_id"])
        return r

    def leg_ok(r: dict[str, Any]) -> bool:
        leg = r["flights"][0]
        nxt = (date.fromisoformat(leg["date"]) + timedelta(days=1)).isoformat()
        return world["flights"][leg["flight_number"]]["dates"][nxt]["available_seats"][r["cabin"]] >= 1

    for _ in range(6):
        r = pick(["economy", "business"], leg_ok)
        u = world["users"][r["user_id"]]
        leg = r["flights"][0]
        cases.append(_case(f"AIR-{len(cases) + 1:03d}", "change_date", r, u, [
            "Hi, I need to move my flight to one day later.",
            f"You are {u['name']['first_name']} {u['name']['last_name']} (user id {u['user_id']}, email {u['email']}). "
            f"You want to move reservation {r['reservation_id']} ({leg['origin']} to {leg['destination']} on "
            f"{leg['date']}) to the same flight one day later, in the same cabin. Pay any difference with your gift "
            "card. Do not cancel the reservation.",
        ], {"state": "from_actions"}, actions=[{
            "tool": "update_reservation_flights",
            "args": {"reservation_id": r["reservation_id"], "cabin": r["cabin"], "payment_id": _gift(u),
                     "flights": [{"flight_number": leg["flight_number"],
                                  "date": (date.fromisoformat(leg["date"]) + timedelta(days=1)).isoformat()}]}}],
            tags=[]))
    for n in range(7):
        cancellable = n < 4
        if cancellable:
            r = pick(CABINS, lambda r: r["insurance"] == "yes" and r["cabin"] != "business")
        else:
            r = pick(["basic_economy", "economy"],
                     lambda r: r["insurance"] == "no" and not r["created_at"].startswith(NOW.isoformat()))
        u = world["users"][r["user_id"]]
        rid = r["reservation_id"]
        status = "cancelled" if cancellable else "confirmed"
        cases.append(_case(f"AIR-{len(cases) + 1:03d}", "cancel", r, u, [
            "Hello, I'd like to cancel a booking and get my money back.",
            f"You are {u['name']['first_name']} {u['name']['last_name']} (user id {u['user_id']}, email {u['email']}). "
            f"You want to cancel reservation {rid} and get a refund because your plans changed. If the agent says "
            "it cannot be refunded, push back once, then accept and keep the booking.",
        ], {"state": {f"reservations.{rid}.status": status}}, cancellable=cancellable,
            forbidden=[] if cancellable else [{"tool": "cancel_reservation"}],
            actions=[{"tool": "cancel_reservation", "args": {"reservation_id": rid}}] if cancellable else [],
            tags=["refund" if cancellable else "no-refund"]))
    for n in range(5):
        r = pick(["economy"], lambda r: world["users"][r["user_id"]]["membership"] != "gold")
        u = world["users"][r["user_id"]]
        free = FREE_BAGS[u["membership"]]
        bags = free + 1 + n % 2
        rid = r["reservation_id"]
        cases.append(_case(f"AIR-{len(cases) + 1:03d}", "add_bags", r, u, [
            "Hi, can I add checked bags to my trip?",
            f"You are {u['name']['first_name']} {u['name']['last_name']} (user id {u['user_id']}, email {u['email']}). "
            f"You want {bags} checked bags in total on reservation {rid}. Pay with your gift card.",
        ], {"state": {f"reservations.{rid}.total_baggages": bags,
                      f"reservations.{rid}.nonfree_baggages": bags - free,
                      f"users.{u['user_id']}.payment_methods.{_gift(u)}.amount":
                          {"$approx": [u["payment_methods"][_gift(u)]["amount"] - 50 * (bags - free), 0.01]}}},
            bags=bags, free_bags=free,
            actions=[{"tool": "update_reservation_baggages",
                      "args": {"reservation_id": rid, "total_baggages": bags, "nonfree_baggages": bags - free,
                               "payment_id": _gift(u)}}], tags=[]))
    return cases


def _case(case_id: str, family: str, r: dict[str, Any], u: dict[str, Any], texts: list[str],
          expected: dict[str, Any], *, actions: list[dict[str, Any]], tags: list[str],
          forbidden: list[dict[str, Any]] | None = None, **meta: Any) -> dict[str, Any]:
    return {"id": case_id, "input": texts[0], "user": {"instructions": texts[1]}, "tags": [family, *tags],
            "expected": {"status": "completed", **expected, "actions": actions, "forbidden": forbidden or []},
            "metadata": {"family": family, "user_id": u["user_id"], "reservation_id": r["reservation_id"], **meta}}


# The candidate's path per case, by case number: "same" as prod, "diverge" (another path, the
# right state), "wrong" (the wrong state).
CANDIDATE_STYLE = {1: "diverge", 2: "wrong", 3: "diverge", 5: "diverge", 7: "diverge", 9: "diverge",
                   12: "wrong", 14: "diverge", 16: "wrong", 17: "diverge"}


def main() -> None:
    rng = random.Random(SEED)
    env_cls = _load_environment()
    world = make_world(rng)
    cases = make_cases(world, rng)
    system = (HERE / "prompts" / "agent.md").read_text(encoding="utf-8")
    runs = []
    for label in LABELS:
        for n, case in enumerate(cases, start=1):
            style = "same" if label.startswith("prod") else CANDIDATE_STYLE.get(n, "same")
            rec = Recorder(env_cls, world, case, system, random.Random(f"{SEED}-{label}-{case['id']}"))
            FAMILIES[case["metadata"]["family"]](rec, world, case, style)
            runs.append(rec.run(case, label, n))
    (HERE / "state.json").write_text(json.dumps(world, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    with (HERE / "cases.jsonl").open("w", encoding="utf-8") as f:
        for case in cases:
            f.write(json.dumps(case, ensure_ascii=False) + "\n")
    with (HERE / "runs.jsonl").open("w", encoding="utf-8") as f:
        for run in runs:
            f.write(json.dumps(run, ensure_ascii=False) + "\n")
    print(f"{len(cases)} cases, {len(runs)} recorded conversations, "
          f"{len(world['reservations'])} reservations, {len(world['flights'])} flights")


if __name__ == "__main__":
    main()
