"""Money and seat labels: plain functions shared by the templates and the seat-map builder."""

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

SYMBOLS = {"eur": "€", "usd": "$", "gbp": "£", "chf": "CHF ", "sek": "kr "}
KIND_LABELS = {
    "wheelchair": gettext_lazy("wheelchair space"),
    "companion": gettext_lazy("companion seat"),
    "couple-left": gettext_lazy("couple seat"),
    "couple-right": gettext_lazy("couple seat"),
}
STATE_LABELS = {
    "available": gettext_lazy("available"),
    "held": gettext_lazy("held by someone else"),
    "mine": gettext_lazy("held by you"),
    "sold": gettext_lazy("sold"),
    "blocked": gettext_lazy("not for sale"),
}


def money(cents: int, currency: str) -> str:
    """Integer minor units to a display string, e.g. 1250, "eur" -> "€12.50"."""
    amount = number_format(cents / 100, decimal_pos=2)
    return f"{SYMBOLS.get(currency.lower(), currency.upper() + ' ')}{amount}"


def seat_label(seat, view, zone_label: str, currency: str) -> str:
    """The accessible name of a seat button: "Row F, seat 12, VIP, €12.50, available"."""
    parts = [_("Row %(row)s, seat %(number)s") % {"row": seat.row, "number": seat.number}, str(zone_label)]
    if seat.kind in KIND_LABELS:
        parts.append(str(KIND_LABELS[seat.kind]))
    parts.append(money(view.price, currency))
    parts.append(str(STATE_LABELS.get(view.state, view.state)))
    return ", ".join(parts)


def state_label(state: str) -> str:
    return STATE_LABELS.get(state, state)
