"""Ticket families of the support-triage dataset about deliveries and technical problems
(no refunds). Accounts, duplicate tickets and billing questions are in ``families_accounts.py``.
"""

from __future__ import annotations

from typing import Any

from shop import NOT_ESCALATED, WHILE_ESCALATED, Shop, _reads_orders, _sign
from world import PRODUCTS, Story, World, day, human_date, vip_priority


def _reads_customer(tid: int, customer_id: str) -> list[list[tuple[str, dict[str, Any]]]]:
    return [[("get_ticket", {"ticket_id": tid})], [("get_customer", {"customer_id": customer_id})]]


# --- where is my order -----------------------------------------------------------------------

WISMO_BODIES = [
    "Where is my order #{order}? I ordered on {placed} and haven't received anything yet.",
    "hi any update on order {order}? need it before the weekend",
    "I ordered a {product} over a week ago (#{order}) and I have no idea where it is. The confirmation email didn't have tracking.",
    "Can you tell me when order #{order} will arrive? I'm travelling from the {away}th and want to make sure someone's home.",
    "My order {order} says shipped but the tracking link in the email doesn't work. Where is it?",
]


def build_wismo(shop: Shop, tid: int, vip: bool) -> Story:
    r = shop.rng
    c = shop.customer(vip)
    items = shop.items(PRODUCTS, r.choice([1, 1, 2]))
    placed = r.randint(3, 9)
    order = shop.order(
        c, items, placed, "shipped", shop.tracking("in_transit", r.randint(0, 1), -r.randint(1, 3))
    )
    world = World(customers={c.customer_id: shop.customer_record(c)}, orders={c.customer_id: [order]})
    oid, trk = order["order_id"], order["tracking"]
    slots = {
        "order": oid,
        "placed": human_date(placed),
        "product": items[0]["name"],
        "away": r.randint(16, 28),
    }
    subject = r.choice(
        [
            "Where is my order?",
            "Order #{order} status",
            "Tracking for #{order}",
            "delivery date?",
            "No tracking info",
        ]
    ).format(**slots)
    channel = r.choice(["email", "chat", "web form"])
    followup = None
    if channel == "chat" and r.random() < 0.5:
        followup = (
            "hi, where's my order? it's been a week",
            r.choice([f"{oid}", f"it's #{oid}", f"order number {oid}"]),
        )
    world.tickets[tid] = shop.ticket(tid, c, subject, channel, day(0, r.randint(8, 17)))
    eta = trk["estimated_delivery"]
    story = Story(
        family="wismo",
        ticket_id=tid,
        customer=c,
        input=shop.as_input(tid, c, subject, channel, r.choice(WISMO_BODIES).format(**slots), followup),
        tags=["shipping"] + (["vip"] if vip else []),
        world=world,
        reads=_reads_orders(tid, c, oid),
        group="shipping",
        priority=vip_priority(["low", "normal"], vip),
        statuses=NOT_ESCALATED,
        set_status=r.choice(["pending", "solved", None]),
        reply_match={"$contains": trk["number"]},
        answer={"contains": [trk["number"]]},
        forbidden=[{"tool": "issue_refund"}],
    )
    story.reply = f"Hi {c.first},\n\nYour order #{oid} is on its way with {trk['carrier']}, tracking number {trk['number']}. It was last scanned in {trk['last_scan_location']} and is expected to arrive on {eta}.{_sign('prod')}"
    story.final = f"Order #{oid} is in transit with {trk['carrier']} ({trk['number']}), ETA {eta}. Sent {c.first} the tracking details."
    story.alt.update(
        reply_c=f"Hi {c.first}, your order #{oid} shipped with {trk['carrier']}. Tracking: {trk['number']}. ETA {eta}.{_sign('candidate')}",
        final_c=f"Sent tracking {trk['number']} to the customer.",
    )
    return story


def build_address_change(shop: Shop, tid: int, shipped: bool) -> Story:
    r = shop.rng
    c = shop.customer(False)
    items = shop.items(PRODUCTS, 1)
    placed = r.randint(0, 3) if not shipped else r.randint(2, 5)
    tracking = shop.tracking("in_transit", 0, -r.randint(1, 3)) if shipped else None
    order = shop.order(c, items, placed, "shipped" if shipped else "processing", tracking)
    world = World(customers={c.customer_id: shop.customer_record(c)}, orders={c.customer_id: [order]})
    oid, new_addr = order["order_id"], shop.address()
    body = r.choice(
        [
            "I need to change the delivery address for order #{order}. I moved last week, the new address is {addr}.",
            "Wrong address on my order {order}!! Please send it to {addr} instead.",
            "Could you update the shipping address on #{order} to {addr}? My autofill put in my old place.",
        ]
    ).format(order=oid, addr=new_addr)
    subject = r.choice(["Change shipping address", "Wrong address on order", "Address update for #" + oid])
    world.tickets[tid] = shop.ticket(tid, c, subject, "email", day(0, r.randint(8, 17)))
    story = Story(
        family="address_change",
        ticket_id=tid,
        customer=c,
        input=shop.as_input(tid, c, subject, "email", body, None),
        tags=["shipping"],
        world=world,
        reads=_reads_orders(tid, c, oid),
        group="shipping",
        priority=["normal", "high"],
        statuses=NOT_ESCALATED if shipped else WHILE_ESCALATED,
        set_status="pending" if shipped else None,
        forbidden=[{"tool": "close_ticket"}],
    )
    if shipped:
        trk = order["tracking"]
        story.reply = f"Hi {c.first},\n\nOrder #{oid} has already left our warehouse, so we can't change the address on our side anymore. You can ask {trk['carrier']} to redirect it using tracking number {trk['number']} on their website.{_sign('prod')}"
        story.reply_match = {"$contains": trk["number"]}
        story.final = f"Order #{oid} already shipped; explained to {c.first} how to redirect it with {trk['carrier']} ({trk['number']})."
        story.alt.update(
            reply_c=f"Hi {c.first}, the order already shipped. Please use {trk['carrier']} redirect with tracking {trk['number']}.{_sign('candidate')}",
            final_c="Order already shipped; sent carrier redirect info.",
        )
    else:
        story.escalate = f"Order #{oid} not shipped yet; customer asks to change the address to {new_addr}. Fulfilment needs to edit it before it ships."
        story.escalate_note = f"Order #{oid} hasn't shipped yet, so fulfilment can still change the address. I can't edit orders, so I'm handing it over."
        story.alt["note_c"] = "Address change needed before shipping, escalating."
    return story


# --- technical problems ------------------------------------------------------------------------

BUGS = [
    (
        "Cam 2 keeps going offline",
        "My {device} goes offline every night around 2am and comes back in the morning. Wifi is fine, everything else in the house stays connected.",
    ),
    (
        "App crashes on clips tab",
        "The app crashes every time I open the Clips tab on my {phone}. Reinstalled twice, same thing.",
    ),
    (
        "Hub won't pair sensor",
        "I can't pair my new Motion Sensor with the Lumen Hub. It blinks blue and then times out after 60 seconds. Tried resetting both.",
    ),
    (
        "Notifications delayed",
        "Motion notifications show up 5-10 minutes late, which makes them useless. This started after the last app update.",
    ),
    (
        "Doorbell live view black",
        "Live view on my {device} is just a black screen, but recordings work fine. Any idea?",
    ),
    (
        "Siren not triggering",
        "The Indoor Siren doesn't go off when the contact sensor on the back door opens, even though the automation shows as enabled.",
    ),
    (
        "Night vision blurry",
        "Night vision on my {device} has become really blurry and washed out since last week. Daytime image is sharp.",
    ),
    (
        "Two-way audio echo",
        "When I use two-way talk on the {device}, the person at the door hears a loud echo of their own voice.",
    ),
]
PHONES = ["iPhone 15", "iPhone 13 mini", "Pixel 8", "Galaxy S23", "iPad Air", "OnePlus 12"]
DEVICES = ["Lumen Cam 2", "Doorbell Pro", "Floodlight Cam", "Cam 2 in the garage"]


def build_tech_bug(shop: Shop, tid: int, vip: bool) -> Story:
    r = shop.rng
    c = shop.customer(vip)
    title, body = r.choice(BUGS)
    body = body.format(device=r.choice(DEVICES), phone=r.choice(PHONES))
    if r.random() < 0.3:
        body += r.choice(
            [
                " This is really frustrating.",
                " Firmware is up to date.",
                " I work nights so I really rely on this.",
                " Please help!",
            ]
        )
    world = World(
        customers={
            c.customer_id: shop.customer_record(
                c,
                devices=r.sample(
                    [
                        "Lumen Cam 2",
                        "Lumen Doorbell Pro",
                        "Lumen Hub",
                        "Motion Sensor",
                        "Indoor Siren",
                        "Lumen Floodlight Cam",
                    ],
                    3,
                ),
                app_version=f"6.{r.randint(10, 14)}.{r.randint(0, 3)}",
            )
        }
    )
    channel = r.choice(["email", "in-app", "chat"])
    followup = (
        (
            r.choice(
                [
                    "hi, having an issue with my camera setup",
                    "need help",
                    "hello?? something is wrong with my lumen stuff",
                ]
            ),
            body,
        )
        if channel == "chat" and r.random() < 0.5
        else None
    )
    world.tickets[tid] = shop.ticket(tid, c, title, channel, day(0, r.randint(8, 17)))
    story = Story(
        family="tech_bug",
        ticket_id=tid,
        customer=c,
        input=shop.as_input(tid, c, title, channel, body, followup),
        tags=["technical"] + (["vip"] if vip else []),
        world=world,
        reads=_reads_customer(tid, c.customer_id),
        group="technical",
        priority=vip_priority(["normal", "high"], vip),
        statuses=NOT_ESCALATED,
        set_status="pending",
        forbidden=[{"tool": "issue_refund"}],
    )
    story.reply = f"Hi {c.first},\n\nThanks for the detailed report. Could you try power-cycling the device (unplug it for 30 seconds) and updating the app to the latest version? If it still happens, our technical team has your ticket and will follow up with next steps.{_sign('prod')}"
    story.final = f"Routed '{title}' to the technical team and sent {c.first} first troubleshooting steps."
    story.alt.update(
        reply_c=f"Hi {c.first}, please restart the device and update the app. Our tech team will follow up.{_sign('candidate')}",
        final_c="Routed to technical and replied with troubleshooting steps.",
    )
    return story


OUTAGES = [
    (
        "All cameras offline",
        "None of our {n} cameras have recorded anything since {time}. The app just says 'Service unavailable'. We run a shop, this is a security problem!!",
    ),
    (
        "Partner API returning 503",
        "Your partner API has returned 503 on every request since {time} UTC. We can't provision any customer devices and have {n} installs booked today.",
    ),
    (
        "App login down for everyone",
        "Nobody in our office can log into the Lumen app or web dashboard since {time}. {n} of us, all getting 'Something went wrong'.",
    ),
    (
        "Recordings missing for whole site",
        "Since {time} none of the {n} cameras at our warehouse are uploading recordings. We had a break-in attempt last night and have NO footage.",
    ),
]


def build_outage(shop: Shop, tid: int) -> Story:
    r = shop.rng
    c = shop.customer(r.random() < 0.3)
    title, body = r.choice(OUTAGES)
    body = body.format(
        n=r.randint(6, 40),
        time=f"{r.randint(5, 11)}:{r.choice(['00', '15', '30', '45', '10'])}{r.choice(['am', '']) if 'UTC' not in body else ''}",
    )
    world = World(
        customers={c.customer_id: shop.customer_record(c, account_type="business", sites=r.randint(1, 5))}
    )
    channel = r.choice(["email", "phone transcript", "web form"])
    world.tickets[tid] = shop.ticket(tid, c, title, channel, day(0, r.randint(8, 12)))
    story = Story(
        family="outage",
        ticket_id=tid,
        customer=c,
        input=shop.as_input(tid, c, title, channel, body, None),
        tags=["technical", "priority-routing"] + (["vip"] if c.tier == "vip" else []),
        world=world,
        reads=_reads_customer(tid, c.customer_id),
        group="technical",
        priority="urgent",
        statuses=NOT_ESCALATED,
        set_status="pending",
    )
    story.reply = f"Hi {c.first},\n\nThank you for reporting this so quickly. I've marked your ticket urgent and sent it to our on-call technical team; they'll update you directly. Service status updates are also posted at status.lumenhome.com.{_sign('prod')}"
    story.final = f"Service-wide impact reported ('{title}'); routed to technical as urgent and told {c.first} the on-call team is on it."
    story.alt.update(
        reply_c=f"Hi {c.first}, we've escalated this to our on-call engineers as urgent. Updates at status.lumenhome.com.{_sign('candidate')}",
        final_c="Marked urgent and routed to technical.",
    )
    return story


FEATURES = [
    "It would be great if the app had a dark mode. My eyes at night!",
    "Please add HomeKit support for the Cam 2. It's the only thing keeping me from buying more.",
    "Can you add an option to export clips in bulk? Downloading 40 clips one by one is painful.",
    "Feature request: let me set different motion zones for day and night.",
    "Would love a widget for the iOS lock screen that shows the doorbell feed.",
    "Any chance you'll support 24/7 recording to a local SD card? Not everyone wants the cloud.",
    "Suggestion: a 'vacation mode' that arms everything with one tap.",
]


def build_feature_request(shop: Shop, tid: int) -> Story:
    r = shop.rng
    c = shop.customer(False)
    body = r.choice(FEATURES)
    world = World(customers={c.customer_id: shop.customer_record(c)})
    subject = r.choice(["Feature request", "Suggestion", "Idea for the app", "feature idea"])
    channel = r.choice(["email", "in-app"])
    world.tickets[tid] = shop.ticket(tid, c, subject, channel, day(0, r.randint(8, 17)))
    story = Story(
        family="feature_request",
        ticket_id=tid,
        customer=c,
        input=shop.as_input(tid, c, subject, channel, body, None),
        tags=["technical", "priority-routing"],
        world=world,
        reads=_reads_customer(tid, c.customer_id),
        group="technical",
        priority="low",
        statuses=NOT_ESCALATED,
        set_status=r.choice(["solved", None]),
        forbidden=[{"tool": "escalate_to_human"}],
    )
    story.reply = f"Hi {c.first},\n\nThanks for the suggestion! I've passed it to our product team, who read every request. I can't promise a date, but ideas like this do shape the roadmap.{_sign('prod')}"
    story.final = f"Feature request logged for the product team (technical, low priority); thanked {c.first}."
    story.alt.update(
        reply_c=f"Hi {c.first}, thanks! I've shared this with the product team.{_sign('candidate')}",
        final_c="Logged feature request, replied.",
    )
    return story
