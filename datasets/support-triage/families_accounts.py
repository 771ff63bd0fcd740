"""Ticket families of the support-triage dataset about accounts and trust & safety
(sign-in problems, takeovers, card fraud), duplicate tickets, tickets the customer resolved,
and billing questions.
"""

from __future__ import annotations

from families_ops import BUGS, DEVICES, PHONES, _reads_customer
from shop import NOT_ESCALATED, WHILE_ESCALATED, Shop, _reads_orders, _sign
from world import CHEAP, PRODUCTS, Story, World, day, human_date, money, vip_priority

# --- accounts ---------------------------------------------------------------------------------

ACCESS = [
    (
        "Password reset email not arriving",
        "I've requested a password reset 4 times and the email never arrives. Checked spam. I'm locked out of my cameras.",
        {"last_login": day(9)},
    ),
    (
        "Lost phone - can't get 2FA code",
        "I got a new phone and my authenticator app didn't transfer, so I can't get the 2FA code to log in. How do I get back in?",
        {"two_factor_enabled": True},
    ),
    (
        "Account locked",
        "My account says it's locked after too many attempts. I think my kid was playing with the app. Can you unlock it?",
        {"locked_until": day(-1)},
    ),
    (
        "Can't sign in with Google",
        "The 'Sign in with Google' button just spins forever. I never set a password, so I can't get in any other way.",
        {"login_method": "google"},
    ),
    (
        "Changed email, can't log in",
        "I changed my email address in settings last month and now it says no account found with either address.",
        {"email_changed_at": day(30)},
    ),
]


def build_account_access(shop: Shop, tid: int, vip: bool) -> Story:
    r = shop.rng
    c = shop.customer(vip)
    title, body, extra = r.choice(ACCESS)
    world = World(customers={c.customer_id: shop.customer_record(c, **extra)})
    channel = r.choice(["email", "chat", "web form"])
    followup = (
        (r.choice(["I can't get into my account", "locked out, help", "hi, login problem"]), body)
        if channel == "chat" and r.random() < 0.5
        else None
    )
    world.tickets[tid] = shop.ticket(tid, c, title, channel, day(0, r.randint(8, 17)))
    story = Story(
        family="account_access",
        ticket_id=tid,
        customer=c,
        input=shop.as_input(tid, c, title, channel, body, followup),
        tags=["account-access"] + (["vip"] if vip else []),
        world=world,
        reads=_reads_customer(tid, c.customer_id),
        group="accounts",
        priority=vip_priority(["normal", "high"], vip),
        statuses=NOT_ESCALATED,
        set_status="pending",
        forbidden=[{"tool": "close_ticket"}],
    )
    story.reply = f"Hi {c.first},\n\nSorry you're locked out. I've sent this to our accounts team. To get you back in quickly, please use the identity check link we just emailed to {c.email}; once it's done, the team can reset your sign-in for you.{_sign('prod')}"
    story.final = f"Routed the sign-in problem to accounts and told {c.first} about the identity check."
    story.alt.update(
        reply_c=f"Hi {c.first}, the accounts team will help you. Please complete the identity check we emailed you.{_sign('candidate')}",
        final_c="Routed to accounts, replied.",
    )
    return story


TAKEOVER_BODIES = [
    "Someone got into my account, changed the email and ordered stuff to an address I don't know! I only found out because my bank texted me.",
    "I think I've been hacked. I got an email saying my password was changed and now I can't log in. There's a new order I didn't make.",
    "My Lumen account was taken over. The login email isn't mine anymore and my cameras were removed from the app. Please lock it!!",
]


def build_takeover(shop: Shop, tid: int) -> Story:
    r = shop.rng
    c = shop.customer(r.random() < 0.2)
    items = shop.items(PRODUCTS, 2)
    order = shop.order(c, items, 0, "processing")
    country = r.choice(["RO", "NG", "VN", "BR", "ID"])
    record = shop.customer_record(
        c,
        email=f"{c.first.lower()}.{shop.ids.alnum(5).lower()}@mailinator.com",
        email_changed_at=day(1, r.randint(1, 5)),
        password_changed_at=day(1, r.randint(1, 5)),
        recent_logins=[{"at": day(1, 3), "ip_country": country, "new_device": True}],
    )
    world = World(customers={c.customer_id: record}, orders={c.customer_id: [order]})
    subject = r.choice(["Account hacked", "Someone is in my account", "URGENT: account taken over"])
    world.tickets[tid] = shop.ticket(tid, c, subject, "web form", day(0, r.randint(6, 12)))
    body = r.choice(TAKEOVER_BODIES)
    story = Story(
        family="takeover",
        ticket_id=tid,
        customer=c,
        input=shop.as_input(tid, c, subject, "web form", body, None),
        tags=["fraud", "account-access"] + (["vip"] if c.tier == "vip" else []),
        world=world,
        reads=_reads_orders(tid, c, None),
        group="trust_safety",
        priority="urgent",
        statuses=WHILE_ESCALATED,
        set_status=None,
        escalate=f"Likely account takeover: email and password changed {day(1)[:10]} from a new device ({country}); new order #{order['order_id']} pending.",
        escalate_note="This looks like an account takeover (email and password changed from a new device, plus a new order). Handing it to Trust & Safety right away.",
        forbidden=[{"tool": "close_ticket"}, {"tool": "issue_refund"}],
    )
    story.alt.update(
        note_c="Account takeover suspected, escalating.",
        close_reply=f"Hi {c.first}, please reset your password using the 'Forgot password' link and enable 2FA. We're closing this ticket; reply if you need more help.{_sign('candidate')}",
        close_final="Sent password reset instructions and closed the ticket.",
    )
    return story


# --- duplicate tickets, resolved tickets, billing questions ---------------------------------------


def build_bulk_duplicates(shop: Shop, tid: int, dups: list[int]) -> Story:
    r = shop.rng
    c = shop.customer(False)
    title, body = r.choice(BUGS)
    body = body.format(device=r.choice(DEVICES), phone=r.choice(PHONES))
    world = World(customers={c.customer_id: shop.customer_record(c)})
    created = day(0, r.randint(8, 12), r.randint(0, 20))
    for i, d in enumerate(dups):
        world.tickets[d] = shop.ticket(
            d, c, title, "email", day(0, 7 + i, r.randint(0, 59)), description=body[:120]
        )
    world.tickets[tid] = shop.ticket(tid, c, title, "email", created)
    refs = " and ".join(f"#{d}" for d in dups)
    lead = r.choice(
        [
            "Sorry, I think I submitted this {n} times, the form kept erroring. Tickets {refs} are the same thing, please close those and keep this one.",
            "(Duplicates of this: {refs}, you can close them.)",
            "I accidentally opened {refs} about the same problem. Please close the extra ones.",
        ]
    ).format(n=len(dups) + 1, refs=refs)
    story = Story(
        family="bulk_duplicates",
        ticket_id=tid,
        customer=c,
        input=shop.as_input(tid, c, title, "email", lead + "\n\n" + body, None),
        tags=["bulk", "technical"],
        world=world,
        reads=[
            [("get_ticket", {"ticket_id": tid})],
            [("get_ticket", {"ticket_id": d}) for d in dups]
            + [("get_customer", {"customer_id": c.customer_id})],
        ],
        group="technical",
        priority=["normal", "high"],
        statuses=NOT_ESCALATED,
        set_status="pending",
        closes=list(dups),
        forbidden=[{"tool": "close_ticket", "args": {"ticket_ids": [tid]}}],
    )
    story.reply = f"Hi {c.first},\n\nNo problem, I've closed the duplicate tickets ({refs}) and kept this one open. Our technical team will look at the issue itself; in the meantime, a quick restart of the device and the app sometimes clears it.{_sign('prod')}"
    story.final = (
        f"Closed duplicates {refs} one by one, routed this ticket to technical and replied to {c.first}."
    )
    story.alt.update(
        reply_c=f"Hi {c.first}, I closed the duplicate tickets {refs}. The tech team will follow up on this one.{_sign('candidate')}",
        final_c=f"Closed duplicates {refs}, replied.",
    )
    return story


def build_resolved(shop: Shop, tid: int) -> Story:
    r = shop.rng
    c = shop.customer(False)
    shipping = r.random() < 0.5
    world = World(customers={c.customer_id: shop.customer_record(c)})
    if shipping:
        subject, group = "Re: Where is my order?", "shipping"
        body = r.choice(
            [
                "Never mind, the package arrived today! You can close this ticket, thanks.",
                "Update: it showed up this afternoon, all good. Please close.",
                "Found it, the neighbour had it lol. close this pls",
            ]
        )
    else:
        subject, group = "Re: Camera offline", "technical"
        body = r.choice(
            [
                "The camera is working again after I restarted my router. You can close this one, thank you!",
                "Sorted it myself, it was the wifi extender. Close the ticket please.",
                "All good now, the firmware update fixed it. Thanks anyway!",
            ]
        )
    world.tickets[tid] = shop.ticket(tid, c, subject, "email", day(r.randint(1, 4)), status="pending")
    story = Story(
        family="resolved",
        ticket_id=tid,
        customer=c,
        input=shop.as_input(tid, c, subject, "email", body, None),
        tags=[group if group == "shipping" else "technical", "resolved"],
        world=world,
        reads=_reads_customer(tid, c.customer_id),
        group=group,
        priority=["low", "normal"],
        statuses=["solved"],
        set_status="solved",
        closes=[tid],
    )
    story.reply = f"Hi {c.first},\n\nGreat to hear it's sorted! I've closed this ticket; just reply if anything else comes up.{_sign('prod')}"
    story.final = (
        f"{c.first} confirmed the issue is resolved; marked the ticket solved, closed it and replied."
    )
    story.alt.update(
        reply_c=f"Glad it's sorted, {c.first}! Closing the ticket.{_sign('candidate')}",
        final_c="Customer resolved it; closed the ticket.",
    )
    return story


BILLING_Q = [
    (
        "Invoice with VAT number",
        "Can I get an invoice for order #{order} with my company's VAT number ({vat}) on it? Our accounting needs it.",
        "I've asked our billing team to reissue the invoice for order #{order} with VAT number {vat}; it will arrive by email within one business day.",
    ),
    (
        "Price increase?",
        "Why did my Protect Plus price go from $9.99 to $12.99? I didn't get any notice.",
        "The Protect Plus price changed to $12.99 on your last renewal; the notice went out by email 30 days before. You can switch to annual billing to pay less per month.",
    ),
    (
        "Annual billing",
        "Do you offer annual billing for Protect Plus? Monthly is annoying for my expense reports.",
        "Yes, Protect Plus is available annually for $99.99. You can switch under Account > Subscription and the change applies at your next renewal.",
    ),
    (
        "Update card on file",
        "How do I update the card on file? My old one expired and I don't want my plan to lapse.",
        "You can update your card under Account > Payment methods in the app or on the web dashboard; your plan won't lapse while you do.",
    ),
    (
        "Receipt for order",
        "I need a receipt for order {order} for a warranty claim with my insurer.",
        "I've re-sent the receipt for order #{order} to your email address; it includes the purchase date and serial numbers.",
    ),
]


def build_billing_question(shop: Shop, tid: int, vip: bool) -> Story:
    r = shop.rng
    c = shop.customer(vip)
    items = shop.items(CHEAP, 1)
    order = shop.order(c, items, r.randint(5, 60), "delivered")
    world = World(
        customers={
            c.customer_id: shop.customer_record(
                c, subscription=r.choice(["Protect Plus (monthly)", "Protect Basic (monthly)"])
            )
        },
        orders={c.customer_id: [order]},
    )
    title, body, answer = r.choice(BILLING_Q)
    slots = {
        "order": order["order_id"],
        "vat": f"{r.choice(['DE', 'FR', 'NL', 'IE'])}{shop.ids.alnum(9, '0123456789')}",
    }
    channel = r.choice(["email", "chat", "web form"])
    world.tickets[tid] = shop.ticket(tid, c, title, channel, day(0, r.randint(8, 17)))
    story = Story(
        family="billing_question",
        ticket_id=tid,
        customer=c,
        input=shop.as_input(tid, c, title, channel, body.format(**slots), None),
        tags=["payments"] + (["vip"] if vip else []),
        world=world,
        reads=_reads_orders(tid, c, None),
        group="billing",
        priority=vip_priority(["low", "normal"], vip),
        statuses=NOT_ESCALATED,
        set_status="solved",
        forbidden=[{"tool": "issue_refund"}],
    )
    text = answer.format(**slots)
    story.reply = f"Hi {c.first},\n\n{text}{_sign('prod')}"
    story.final = f"Answered {c.first}'s billing question ({title.lower()}) and marked the ticket solved."
    story.alt.update(
        reply_c=f"Hi {c.first}, {text[0].lower() + text[1:]}{_sign('candidate')}",
        final_c="Answered the billing question.",
    )
    return story


# --- fraud -------------------------------------------------------------------------------

FRAUD_BODIES = [
    "There's a charge of {amt} from Lumen Home on my card that I didn't make. I've never bought a {product}. What is going on?",
    "Someone used my card on your site!! {amt} on {date}, shipped to an address I've never heard of. I want this reversed NOW and I'm calling my bank.",
    "I see an order #{order} in my account for {amt} that I did not place. Please cancel it and tell me how this happened.",
    "unauthorized charge {amt}. not me. fix it",
]


def build_fraud(shop: Shop, tid: int) -> Story:
    r = shop.rng
    c = shop.customer(r.random() < 0.15)
    items = shop.items(PRODUCTS, r.choice([1, 2]))
    offset = r.randint(1, 5)
    order = shop.order(c, items, offset, r.choice(["processing", "shipped"]))
    order["ship_to"] = shop.address()
    order["notes"] = "ship_to differs from every previous order; new device at checkout"
    last4 = f"{r.randint(0, 9999):04d}"
    ch = shop.charge(
        order,
        order["total_cents"],
        order["placed_at"],
        last4,
        risk={"level": "elevated", "ip_country": r.choice(["RO", "NG", "VN", "BR", "RU"])},
    )
    world = World(
        customers={c.customer_id: shop.customer_record(c)},
        orders={c.customer_id: [order]},
        charges={ch["charge_id"]: ch},
    )
    oid, amt = order["order_id"], money(order["total_cents"])
    slots = {"amt": amt, "product": items[0]["name"], "date": human_date(offset), "order": oid}
    subject = r.choice(
        ["Unauthorized charge", "FRAUD on my card", "I did not place this order", "Charge I don't recognise"]
    )
    channel = r.choice(["email", "phone transcript", "web form"])
    world.tickets[tid] = shop.ticket(tid, c, subject, channel, day(0, r.randint(8, 17)))
    story = Story(
        family="fraud",
        ticket_id=tid,
        customer=c,
        input=shop.as_input(tid, c, subject, channel, r.choice(FRAUD_BODIES).format(**slots), None),
        tags=["fraud", "payments"] + (["vip"] if c.tier == "vip" else []),
        world=world,
        reads=_reads_orders(tid, c, None) + [[("get_charge", {"charge_id": ch["charge_id"]})]],
        group="trust_safety",
        priority=["urgent", "high"],
        statuses=WHILE_ESCALATED,
        set_status=None,
        escalate=f"Customer reports order #{oid} ({amt}, {ch['charge_id']}) as unauthorized; risk signals on the charge. Needs fraud review.",
        escalate_note=f"Order #{oid} looks like card fraud (new device, unfamiliar shipping address). Handing it to Trust & Safety; I won't refund or close anything myself.",
        forbidden=[{"tool": "close_ticket"}, {"tool": "issue_refund"}],
    )
    story.alt.update(
        note_c="Possible fraud, escalating to trust & safety.",
        close_reply=f"Hi {c.first}, we've looked into order #{oid}. Please contact your bank to dispute the {amt} charge; they will handle it from here. We're closing this ticket.{_sign('candidate')}",
        close_final=f"Advised the customer to dispute the {amt} charge with their bank and closed the ticket.",
    )
    return story
