"""Money and seat labels for templates."""

from django import template
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

register = template.Library()

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


@register.simple_tag
def money(cents: int, currency: str) -> str:
    """Integer minor units to a display string, e.g. 1250, "eur" -> "€12.50"."""
    amount = number_format(cents / 100, decimal_pos=2)
    return f"{SYMBOLS.get(currency.lower(), currency.upper() + ' ')}{amount}"


@register.simple_tag
def seat_label(seat, view, zone_label: str, currency: str) -> str:
    """The accessible name of a seat button: "Row F, seat 12, VIP, €12.50, available"."""
    parts = [_("Row %(row)s, seat %(number)s") % {"row": seat.row, "number": seat.number}, str(zone_label)]
    if seat.kind in KIND_LABELS:
        parts.append(str(KIND_LABELS[seat.kind]))
    parts.append(money(view.price, currency))
    parts.append(str(STATE_LABELS.get(view.state, view.state)))
    return ", ".join(parts)


@register.filter
def state_label(state: str) -> str:
    return STATE_LABELS.get(state, state)


@register.filter
def lookup(mapping, key):
    return mapping.get(key) if mapping else None


@register.simple_tag
def seat_grid(geometry, states, showtime, zone_labels):
    from booking.seatmap import seat_grid as build

    return build(
        geometry, states, showtime_id=showtime.pk, zone_labels=zone_labels, currency=showtime.currency
    )


@register.simple_tag
def seat_button(seat, view, showtime, zone_labels, oob=False):
    from booking.seatmap import seat_button as build

    return build(
        seat,
        view,
        showtime_id=showtime.pk,
        zone_label=zone_labels[seat.zone],
        currency=showtime.currency,
        oob=oob,
    )
