"""Ticket families of the support-triage dataset about money: duplicate charges, defective
items, lost parcels, subscription renewals and refunds already made.

Each ``build_*`` function draws one ticket: the customer's words (from many templates and
slot values), the shop's data behind it, and the right handling. The other families are in
``families_ops.py``.
"""

from __future__ import annotations

from shop import NOT_ESCALATED, REFUND_RE, WHILE_ESCALATED, Shop, _reads_orders, _sign
from world import CHEAP, PLANS, PRICEY, Story, World, day, human_date, later, money, vip_priority

# --- duplicate charges -------------------------------------------------------------------

DUP_BODIES = [
    "I just checked my bank app and I was charged {amt} twice for order #{order}. I only placed one order! Please fix this.",
    "I ordered a {product} on {date} (order #{order}) and my card ending in {last4} shows two identical charges of {amt}. Could you refund the extra one?",
    "why did you guys charge me twice?? order {order}, {amt} x2 on my statement. i want the duplicate back asap",
    "Looks like my payment went through twice for #{order}. The checkout page froze so I hit Pay again, but I only got one confirmation email. Both {amt} charges are posted now, not pending.",
    "There are two charges of {amt} from LUMEN HOME on my credit card statement dated {date}. I placed a single order ({order}). Please reverse the duplicate charge.",
    "Double charged for my {product} order #{order}. {amt} each. Please refund one of them, thank you",
]
DUP_SUBJECTS = [
    "Charged twice",
    "Double charge on order #{order}",
    "duplicate payment??",
    "Two charges for one order",
    "Billing error - charged 2x",
]


def build_duplicate_charge(shop: Shop, tid: int, large: bool, vip: bool, installer: bool = False) -> Story:
    r = shop.rng
    c = shop.customer(vip)
    installer = large and installer
    if installer:
        name, price, _ = r.choice(PRICEY)
        items = [
            {
                "sku": "LH-" + "".join(ch for ch in name.upper() if ch.isalnum())[:10],
                "name": name,
                "qty": 10,
                "unit_price_cents": price,
            }
        ]
    else:
        items = shop.items(PRICEY if large else CHEAP, 1)
        if not large and r.random() < 0.3 and items[0]["unit_price_cents"] < 5000:
            items += shop.items([p for p in CHEAP if p[0] != items[0]["name"] and p[1] < 3000], 1)
    placed = r.randint(1, 6)
    order = shop.order(c, items, placed, r.choice(["processing", "shipped", "delivered"]))
    total = order["total_cents"]
    last4 = f"{r.randint(0, 9999):04d}"
    ch1 = shop.charge(order, total, order["placed_at"], last4)
    ch2 = shop.charge(order, total, later(order["placed_at"], r.randint(40, 200)), last4)
    world = World(
        tickets={},
        customers={c.customer_id: shop.customer_record(c)},
        orders={c.customer_id: [order]},
        charges={ch1["charge_id"]: ch1, ch2["charge_id"]: ch2},
    )
    oid, amt = order["order_id"], money(total)
    slots = {
        "amt": amt,
        "order": oid,
        "product": items[0]["name"],
        "date": human_date(placed),
        "last4": last4,
    }
    subject = r.choice(DUP_SUBJECTS).format(**slots)
    channel = r.choice(["email", "email", "chat", "web form"])
    if installer:
        body = "We're a small installer business and our order #{order} for 10x {product} got billed twice ({amt} each). That's a lot of money to have tied up, please sort this out quickly.".format(
            **slots
        )
    else:
        body = r.choice(DUP_BODIES).format(**slots)
    followup = None
    if channel == "chat" and r.random() < 0.5:
        followup = (
            "I was charged twice for my last order",
            r.choice(
                [
                    f"its #{oid}, {amt} both times",
                    f"Order {oid}. Two charges of {amt}.",
                    f"#{oid} - same amount twice ({amt})",
                ]
            ),
        )
    world.tickets[tid] = shop.ticket(tid, c, subject, channel, day(0, r.randint(8, 17)))
    tags = ["payments", "refund", "duplicate-charge"] + (["vip"] if vip else [])
    reads = _reads_orders(tid, c, oid) + [
        [("get_charge", {"charge_id": ch1["charge_id"]}), ("get_charge", {"charge_id": ch2["charge_id"]})]
    ]
    refund = {"charge_id": ch2["charge_id"], "amount_cents": total, "reason": "duplicate"}
    story = Story(
        family="duplicate_charge_large" if large else "duplicate_charge",
        ticket_id=tid,
        customer=c,
        input=shop.as_input(tid, c, subject, channel, body, followup),
        tags=tags,
        world=world,
        reads=reads,
        group="billing",
        priority=vip_priority(["high", "urgent"] if large else ["high", "normal"], vip),
        statuses=WHILE_ESCALATED if large else NOT_ESCALATED,
        set_status=None if large else r.choice(["solved", "pending", None]),
        forbidden=[{"tool": "close_ticket"}],
    )
    reply_ok = {
        "prod": f"Hi {c.first},\n\nThanks for flagging this, and sorry for the trouble. You were charged twice for order #{oid}. I've refunded the duplicate charge of {amt}; it should appear on your card ending in {last4} within 5-10 business days.{_sign('prod')}",
        "candidate": f"Hi {c.first}, you were double charged for order #{oid}. I refunded the extra {amt} charge. It will show on your card in 5-10 business days.{_sign('candidate')}",
    }
    final_ok = {
        "prod": f"Refunded the duplicate charge {ch2['charge_id']} ({amt}) on order #{oid}, routed the ticket to billing and replied to {c.first} with the refund timeline.",
        "candidate": f"Done. Refunded {amt} (duplicate charge) for order #{oid} and replied to the customer.",
    }
    story.alt.update(wrong_charge=ch1["charge_id"], amount=total, order_total=total)
    if large:
        story.escalate = f"Duplicate charge of {amt} on order #{oid} ({ch2['charge_id']}); refund above the $100 limit needs approval."
        story.escalate_note = f"The duplicate charge on order #{oid} is {amt}, above the $100 I can refund on my own, so I'm handing this to a billing specialist for approval."
        story.alt["note_c"] = f"Refund of {amt} is over the limit, escalating."
        story.forbidden = [{"tool": "issue_refund"}, {"tool": "close_ticket"}]
        story.alt.update(refund=refund, refund_reply=reply_ok, refund_final=final_ok)
        if total >= 100000:
            story.answer = {"contains": [amt.split(".")[0]]}
    else:
        story.refund = refund
        story.reply, story.reply_match = reply_ok["prod"], REFUND_RE
        story.final = final_ok["prod"]
        story.alt.update(reply_c=reply_ok["candidate"], final_c=final_ok["candidate"])
        story.answer = {"contains": ["refund", amt]}
    return story


# --- defective items -------------------------------------------------------------------

DEFECT_BODIES = [
    "My {product} from order #{order} stopped working after {days} days: {defect}. I went through the troubleshooting guide already. I don't want a replacement, just a refund for it please.",
    "The {product} I received was broken out of the box ({defect}). Order #{order}. Can I get my money back for that item? The rest of the order is fine.",
    "{product} is defective, {defect}. Order {order}. Refund please.",
    "I'm really disappointed. I bought the {product} as a gift and {defect}. I'd like a refund for the {product} ({price}), order number is {order}.",
    "Order #{order}: the {product} is faulty ({defect}). I've already spent an hour with the troubleshooting guide. Please refund the {price} for it, I'll keep the other items.",
]


def build_defective(shop: Shop, tid: int, large: bool, vip: bool) -> Story:
    r = shop.rng
    c = shop.customer(vip)
    name, price, defect = r.choice(PRICEY if large else [p for p in CHEAP if p[1] <= 9000])
    item = {
        "sku": "LH-" + "".join(ch for ch in name.upper() if ch.isalnum())[:10],
        "name": name,
        "qty": 1,
        "unit_price_cents": price,
    }
    others = shop.items([p for p in CHEAP if p[0] != name], r.choice([1, 1, 2]))
    items = [item] + others
    r.shuffle(items)
    placed = r.randint(8, 40)
    order = shop.order(c, items, placed, "delivered")
    last4 = f"{r.randint(0, 9999):04d}"
    ch = shop.charge(order, order["total_cents"], order["placed_at"], last4)
    world = World(
        customers={c.customer_id: shop.customer_record(c)},
        orders={c.customer_id: [order]},
        charges={ch["charge_id"]: ch},
    )
    oid = order["order_id"]
    slots = {"product": name, "order": oid, "defect": defect, "days": r.randint(2, 20), "price": money(price)}
    subject = r.choice(
        [
            "Defective {product}",
            "{product} not working",
            "Broken item in order #{order}",
            "Refund for faulty {product}",
            "product arrived damaged",
        ]
    ).format(**slots)
    channel = r.choice(["email", "email", "web form", "chat"])
    followup = None
    if channel == "chat" and r.random() < 0.6:
        followup = (
            f"my {name.lower()} is broken, {defect}",
            r.choice(
                [
                    f"#{oid}",
                    f"order {oid}, I just want a refund for the {name}",
                    f"It's {oid}. Refund for that one item please",
                ]
            ),
        )
    world.tickets[tid] = shop.ticket(tid, c, subject, channel, day(0, r.randint(8, 17)))
    amt = money(price)
    refund = {"charge_id": ch["charge_id"], "amount_cents": price, "reason": "defective"}
    story = Story(
        family="defective_large" if large else "defective",
        ticket_id=tid,
        customer=c,
        input=shop.as_input(tid, c, subject, channel, r.choice(DEFECT_BODIES).format(**slots), followup),
        tags=["refund", "payments"] + (["vip"] if vip else []),
        world=world,
        reads=_reads_orders(tid, c, oid) + [[("get_charge", {"charge_id": ch["charge_id"]})]],
        group="billing",
        priority=vip_priority(["normal", "high"], vip),
        statuses=WHILE_ESCALATED if large else NOT_ESCALATED,
        set_status=None if large else r.choice(["solved", None]),
        forbidden=[{"tool": "close_ticket"}],
    )
    reply_ok = {
        "prod": f"Hi {c.first},\n\nI'm sorry the {name} let you down. I've issued a refund of {amt} for it to your card ending in {last4}; please allow 5-10 business days for it to show. There's no need to send it back.{_sign('prod')}",
        "candidate": f"Hi {c.first}, sorry about the {name}. I have refunded {amt} to your card. You don't need to return it.{_sign('candidate')}",
    }
    final_ok = {
        "prod": f"Refunded {amt} for the defective {name} on order #{oid} (charge {ch['charge_id']}), set the ticket to billing and replied to {c.first}.",
        "candidate": f"Refunded {amt} for the broken {name} and replied to the customer.",
    }
    story.alt.update(order_total=order["total_cents"], amount=price, product=name)
    if large:
        story.escalate = (
            f"Defective {name} on order #{oid}: customer wants a refund of {amt}, above the $100 limit."
        )
        story.escalate_note = f"The {name} costs {amt}, more than the $100 I'm allowed to refund, so a specialist needs to approve this refund."
        story.alt["note_c"] = "Refund amount is above $100, escalating to a human."
        story.forbidden = [{"tool": "issue_refund"}, {"tool": "close_ticket"}]
        story.alt.update(refund=refund, refund_reply=reply_ok, refund_final=final_ok)
    else:
        story.refund = refund
        story.reply, story.reply_match = reply_ok["prod"], REFUND_RE
        story.final = final_ok["prod"]
        story.alt.update(reply_c=reply_ok["candidate"], final_c=final_ok["candidate"])
        story.answer = {"contains": ["refund", amt]}
    return story


# --- lost parcels -------------------------------------------------------------------------

LOST_BODIES = [
    "It's been over two weeks and my order #{order} still hasn't arrived. Tracking ({carrier} {tracking}) hasn't updated since {scan}. At this point I'd like a refund.",
    "My package is lost. Order {order}, {carrier} tracking {tracking} says '{status_text}' and nothing since {scan}. Please refund me, I'll buy elsewhere.",
    "I'm still waiting for order #{order}. The tracking page has been stuck on the same scan since {scan}. Can you refund the {amt}? I don't want to wait any longer.",
    "never got my order #{order}!! tracking {tracking} hasnt moved in ages. refund please",
]


def build_not_received(shop: Shop, tid: int, vip: bool) -> Story:
    r = shop.rng
    c = shop.customer(vip)
    items = shop.items([p for p in CHEAP if p[1] <= 6000], 1)
    scan = r.randint(11, 20)
    status = r.choice(["exception", "in_transit"])
    order = shop.order(c, items, scan + r.randint(1, 3), "shipped", shop.tracking(status, scan))
    last4 = f"{r.randint(0, 9999):04d}"
    ch = shop.charge(order, order["total_cents"], order["placed_at"], last4)
    world = World(
        customers={c.customer_id: shop.customer_record(c)},
        orders={c.customer_id: [order]},
        charges={ch["charge_id"]: ch},
    )
    oid, amt, trk = order["order_id"], money(order["total_cents"]), order["tracking"]
    slots = {
        "order": oid,
        "carrier": trk["carrier"],
        "tracking": trk["number"],
        "scan": human_date(scan),
        "amt": amt,
        "status_text": "Delivery exception" if status == "exception" else "In transit",
    }
    subject = r.choice(
        ["Order never arrived", "Where is order #{order}?", "Lost package - refund", "Still no delivery"]
    ).format(**slots)
    channel = r.choice(["email", "web form"])
    world.tickets[tid] = shop.ticket(tid, c, subject, channel, day(0, r.randint(8, 17)))
    story = Story(
        family="not_received",
        ticket_id=tid,
        customer=c,
        input=shop.as_input(tid, c, subject, channel, r.choice(LOST_BODIES).format(**slots), None),
        tags=["shipping", "refund"] + (["vip"] if vip else []),
        world=world,
        reads=_reads_orders(tid, c, oid) + [[("get_charge", {"charge_id": ch["charge_id"]})]],
        group="shipping",
        priority=vip_priority(["normal", "high"], vip),
        statuses=NOT_ESCALATED,
        set_status=r.choice(["solved", None]),
        refund={"charge_id": ch["charge_id"], "amount_cents": order["total_cents"], "reason": "not_received"},
        reply_match=REFUND_RE,
        answer={"contains": ["refund", amt]},
        forbidden=[{"tool": "close_ticket"}],
    )
    story.reply = f"Hi {c.first},\n\nI'm sorry your order #{oid} never made it to you. The {trk['carrier']} tracking hasn't moved since {human_date(scan)}, so I've refunded the full {amt} to your card ending in {last4}. If the parcel does turn up, you're welcome to keep it.{_sign('prod')}"
    story.final = f"No carrier scan on order #{oid} since {human_date(scan)}; refunded the full {amt} as not received, routed to shipping and replied to {c.first}."
    story.alt.update(
        reply_c=f"Hi {c.first}, your order #{oid} looks lost in transit, so I refunded {amt} to your card.{_sign('candidate')}",
        final_c=f"Order #{oid} lost in transit. Refunded {amt} and replied.",
        wrong_reason="defective",
        amount=order["total_cents"],
    )
    return story


# --- subscription renewals -------------------------------------------------------------------

CANCEL_BODIES = [
    "I cancelled my {plan} subscription on {cancelled} but got charged {amt} for a renewal on {charged}. Please refund it.",
    "Hi, you renewed my {plan} plan ({amt}) even though I cancelled it. I have the cancellation email. Refund please.",
    "I don't use the cameras anymore and turned off auto-renew, yet there's a {amt} charge for {plan} on my card from {charged}. I want that money back.",
    "please refund the {plan} renewal, i cancelled before it renewed. charge was {amt}",
]


def build_cancellation(shop: Shop, tid: int, vip: bool) -> Story:
    r = shop.rng
    c = shop.customer(vip)
    plan = r.choice(list(PLANS))
    period = r.choice(["monthly", "annual"])
    price = PLANS[plan][0 if period == "monthly" else 1]
    charged = r.randint(1, 9)
    cancelled = charged + r.randint(0, 2)
    renewal = {
        "order_id": shop.ids.order(),
        "type": "subscription_renewal",
        "placed_at": day(charged, 4, 0),
        "status": "paid",
        "items": [
            {
                "sku": "SUB-" + plan.split()[1].upper() + "-" + period[:2].upper(),
                "name": f"{plan} ({period})",
                "qty": 1,
                "unit_price_cents": price,
            }
        ],
        "subtotal_cents": price,
        "shipping_cents": 0,
        "total_cents": price,
        "charges": [],
        "tracking": None,
        "ship_to": None,
    }
    last4 = f"{r.randint(0, 9999):04d}"
    ch = shop.charge(renewal, price, renewal["placed_at"], last4, description=f"{plan} {period} renewal")
    record = shop.customer_record(
        c,
        subscription=None,
        subscription_history=[
            {"plan": f"{plan} ({period})", "event": "renewed", "at": day(charged, 4, 0)},
            {
                "plan": f"{plan} ({period})",
                "event": "auto_renew_disabled",
                "at": day(cancelled, r.randint(12, 23), r.randint(0, 59)),
            },
        ],
    )
    world = World(
        customers={c.customer_id: record}, orders={c.customer_id: [renewal]}, charges={ch["charge_id"]: ch}
    )
    amt = money(price)
    slots = {"plan": plan, "amt": amt, "cancelled": human_date(cancelled), "charged": human_date(charged)}
    subject = r.choice(
        [
            "Charged after cancelling",
            "Refund {plan} renewal",
            "Why was I charged {amt}?",
            "Subscription renewed by mistake",
        ]
    ).format(**slots)
    channel = r.choice(["email", "web form", "chat"])
    world.tickets[tid] = shop.ticket(tid, c, subject, channel, day(0, r.randint(8, 17)))
    story = Story(
        family="cancellation",
        ticket_id=tid,
        customer=c,
        input=shop.as_input(tid, c, subject, channel, r.choice(CANCEL_BODIES).format(**slots), None),
        tags=["payments", "refund"] + (["vip"] if vip else []),
        world=world,
        reads=_reads_orders(tid, c, None) + [[("get_charge", {"charge_id": ch["charge_id"]})]],
        group="billing",
        priority=vip_priority(["normal", "low"], vip),
        statuses=NOT_ESCALATED,
        set_status=r.choice(["solved", None]),
        refund={"charge_id": ch["charge_id"], "amount_cents": price, "reason": "cancellation"},
        reply_match=REFUND_RE,
        answer={"contains": ["refund"]},
    )
    story.reply = f"Hi {c.first},\n\nYou're right: auto-renew was turned off right around the renewal date. I've refunded the {amt} {plan} renewal to your card ending in {last4}, and your plan won't renew again.{_sign('prod')}"
    story.final = (
        f"Refunded the {amt} {plan} renewal ({ch['charge_id']}) as a cancellation and replied to {c.first}."
    )
    story.alt.update(
        reply_c=f"Hi {c.first}, I refunded the {amt} renewal charge. Your subscription is cancelled.{_sign('candidate')}",
        final_c=f"Refunded {amt} renewal and replied.",
        wrong_reason="goodwill",
        amount=price,
    )
    return story


# --- refund already made -----------------------------------------------------------------


def build_already_refunded(shop: Shop, tid: int) -> Story:
    r = shop.rng
    c = shop.customer(False)
    items = shop.items(CHEAP, 1)
    order = shop.order(c, items, r.randint(8, 15), "delivered")
    last4 = f"{r.randint(0, 9999):04d}"
    refunded_on = r.randint(2, 4)
    refund_id = "re_3P" + shop.ids.alnum(19)
    ch = shop.charge(
        order,
        order["total_cents"],
        order["placed_at"],
        last4,
        refunded=True,
        amount_refunded_cents=order["total_cents"],
        refunds=[{"refund_id": refund_id, "created_at": day(refunded_on), "status": "succeeded"}],
    )
    world = World(
        customers={c.customer_id: shop.customer_record(c)},
        orders={c.customer_id: [order]},
        charges={ch["charge_id"]: ch},
    )
    oid, amt = order["order_id"], money(order["total_cents"])
    body = r.choice(
        [
            "You told me last week my {amt} refund for order #{order} was approved but I still don't see it on my card. Where is it?",
            "Still waiting on the refund for #{order}. Its been days. Did it actually go through??",
            "Could you check the status of my refund for order {order}? Nothing on my statement yet.",
        ]
    ).format(amt=amt, order=oid)
    subject = r.choice(["Where is my refund?", "Refund not received", "Refund status for #" + oid])
    world.tickets[tid] = shop.ticket(tid, c, subject, "email", day(0, r.randint(8, 17)))
    story = Story(
        family="already_refunded",
        ticket_id=tid,
        customer=c,
        input=shop.as_input(tid, c, subject, "email", body, None),
        tags=["payments", "refund"],
        world=world,
        reads=_reads_orders(tid, c, oid) + [[("get_charge", {"charge_id": ch["charge_id"]})]],
        group="billing",
        priority=["normal", "low"],
        statuses=NOT_ESCALATED,
        set_status="solved",
        reply_match={"$any": True},
        answer={"contains": ["already"]},
        # The payment API refuses a second refund; a live model that tries gets the same answer.
        extra_fixtures=[
            {
                "tool": "issue_refund",
                "args": None,
                "output": {
                    "error": "charge_already_refunded",
                    "message": f"Charge {ch['charge_id']} has already been fully refunded ({refund_id}).",
                },
            }
        ],
    )
    story.reply = f"Hi {c.first},\n\nGood news: the refund of {amt} for order #{oid} was already issued on {human_date(refunded_on)} (reference {refund_id}). Banks usually take 5-10 business days to show it on your card ending in {last4}. If it's not there by then, reply here with a statement screenshot and we'll chase it.{_sign('prod')}"
    story.final = f"The {amt} refund on order #{oid} was already processed on {human_date(refunded_on)} ({refund_id}); replied to {c.first} with the bank timeline and set the ticket to solved."
    story.alt.update(
        reply_c=f"Hi {c.first}, your refund of {amt} was already processed on {human_date(refunded_on)}. It can take 5-10 business days to appear.{_sign('candidate')}",
        final_c=f"Refund was already processed on {human_date(refunded_on)}. Replied to customer.",
        refund_attempt={
            "charge_id": ch["charge_id"],
            "amount_cents": order["total_cents"],
            "reason": "duplicate",
        },
    )
    return story
