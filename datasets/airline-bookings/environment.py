"""SkyWay Airlines' reservation system as a stateful environment (DESIGN.md "Environments: stateful tools").

``state.json`` (written by ``generate.py``) holds the airline's users, reservations and
flights. Each run gets its own copy; reads see the run's earlier writes. The tools do what the
airline's backend does, not what the agent's policy allows: cancelling a basic-economy
reservation that policy says may not be cancelled succeeds here, so a wrong write shows up in
the final state (and the verdict), as it would in production.

``generate.py`` records its conversations by calling this class, so replaying a recording
against it gives the recorded outputs.
"""

from __future__ import annotations

from typing import Any

BAG_FEE = 50
"""Dollars per checked bag beyond the free allowance."""


def _error(message: str) -> dict[str, Any]:
    return {"error": message}


def _money(x: float) -> float:
    return round(float(x), 2)


class Environment:
    """One run's view of the reservation system."""

    def __init__(self, case: dict[str, Any], state: dict[str, Any]) -> None:
        self.case = case
        self.state = state

    def snapshot(self) -> dict[str, Any]:
        return self.state

    def call(self, tool: str, args: dict[str, Any]) -> Any:
        handler = getattr(self, "_" + tool, None)
        if handler is None:  # transfer_to_human_agents is a hand-off, never executed
            raise NotImplementedError(tool)
        return handler(**args)

    # --- reads -------------------------------------------------------------------------

    def _get_user_details(self, user_id: str) -> Any:
        return self.state["users"].get(user_id) or _error(f"user {user_id} not found")

    def _find_user_id_by_email(self, email: str) -> Any:
        wanted = email.strip().lower()
        for user in self.state["users"].values():
            if user["email"].lower() == wanted:
                return {"user_id": user["user_id"]}
        return _error(f"no user with email {email}")

    def _get_reservation_details(self, reservation_id: str) -> Any:
        return self.state["reservations"].get(reservation_id) or _error(f"reservation {reservation_id} not found")

    def _search_direct_flight(self, origin: str, destination: str, date: str) -> Any:
        found = []
        for f in self.state["flights"].values():
            day = f["dates"].get(date)
            if f["origin"] == origin and f["destination"] == destination and day is not None:
                found.append({"flight_number": f["flight_number"], "origin": origin, "destination": destination,
                              "date": date, "departure": f["departure"], "arrival": f["arrival"],
                              "status": day["status"], "available_seats": day["available_seats"],
                              "prices": day["prices"]})
        return sorted(found, key=lambda x: x["departure"])

    # --- writes ------------------------------------------------------------------------

    def _charge(self, user: dict[str, Any], payment_id: str, amount: float) -> dict[str, Any] | None:
        """Take ``amount`` (negative: a refund) from a payment method; an error dict when it cannot."""
        method = user["payment_methods"].get(payment_id)
        if method is None:
            return _error(f"payment method {payment_id} not found for user {user['user_id']}")
        if method["source"] == "gift_card":
            if amount > method["amount"] + 1e-9:
                return _error(f"gift card {payment_id} has ${method['amount']:.2f}, not enough for ${amount:.2f}")
            method["amount"] = _money(method["amount"] - amount)
        return None

    def _seats(self, flight_number: str, date: str, cabin: str, delta: int) -> None:
        day = self.state["flights"][flight_number]["dates"].get(date)
        if day is not None:
            day["available_seats"][cabin] += delta

    def _update_reservation_flights(self, reservation_id: str, cabin: str, flights: list[dict[str, Any]],
                                    payment_id: str) -> Any:
        r = self.state["reservations"].get(reservation_id)
        if r is None:
            return _error(f"reservation {reservation_id} not found")
        if r["status"] != "confirmed":
            return _error(f"reservation {reservation_id} is {r['status']}")
        if r["cabin"] == "basic_economy":
            return _error("basic economy reservations cannot be modified")
        passengers = len(r["passengers"])
        new = []
        for leg in flights:
            flight = self.state["flights"].get(leg.get("flight_number", ""))
            day = flight["dates"].get(leg.get("date", "")) if flight else None
            if flight is None or day is None or day["status"] != "available":
                return _error(f"flight {leg.get('flight_number')} on {leg.get('date')} is not available")
            old = next((f for f in r["flights"] if f["flight_number"] == leg["flight_number"]
                        and f["date"] == leg["date"] and r["cabin"] == cabin), None)
            if old is None and day["available_seats"][cabin] < passengers:
                return _error(f"not enough {cabin} seats on {leg['flight_number']} on {leg['date']}")
            price = old["price"] if old is not None else day["prices"][cabin]
            new.append({"flight_number": flight["flight_number"], "origin": flight["origin"],
                        "destination": flight["destination"], "date": leg["date"], "price": price})
        difference = _money(passengers * (sum(f["price"] for f in new) - sum(f["price"] for f in r["flights"])))
        user = self.state["users"][r["user_id"]]
        problem = self._charge(user, payment_id, difference)
        if problem is not None:
            return problem
        for f in r["flights"]:
            self._seats(f["flight_number"], f["date"], r["cabin"], +passengers)
        for f in new:
            self._seats(f["flight_number"], f["date"], cabin, -passengers)
        r["flights"], r["cabin"] = new, cabin
        if difference:
            r["payment_history"].append({"payment_id": payment_id, "amount": difference})
        return r

    def _update_reservation_baggages(self, reservation_id: str, total_baggages: int, nonfree_baggages: int,
                                     payment_id: str) -> Any:
        r = self.state["reservations"].get(reservation_id)
        if r is None:
            return _error(f"reservation {reservation_id} not found")
        if r["status"] != "confirmed":
            return _error(f"reservation {reservation_id} is {r['status']}")
        if total_baggages < r["total_baggages"] or nonfree_baggages < r["nonfree_baggages"]:
            return _error("checked bags cannot be removed")
        fee = _money(BAG_FEE * (nonfree_baggages - r["nonfree_baggages"]))
        problem = self._charge(self.state["users"][r["user_id"]], payment_id, fee)
        if problem is not None:
            return problem
        r["total_baggages"], r["nonfree_baggages"] = total_baggages, nonfree_baggages
        if fee:
            r["payment_history"].append({"payment_id": payment_id, "amount": fee})
        return r

    def _cancel_reservation(self, reservation_id: str) -> Any:
        r = self.state["reservations"].get(reservation_id)
        if r is None:
            return _error(f"reservation {reservation_id} not found")
        if r["status"] == "cancelled":
            return _error(f"reservation {reservation_id} is already cancelled")
        user = self.state["users"][r["user_id"]]
        for payment in list(r["payment_history"]):  # refunds go back where the money came from
            self._charge(user, payment["payment_id"], -payment["amount"])
            r["payment_history"].append({"payment_id": payment["payment_id"], "amount": -payment["amount"]})
        for f in r["flights"]:
            self._seats(f["flight_number"], f["date"], r["cabin"], +len(r["passengers"]))
        r["status"] = "cancelled"
        return r
