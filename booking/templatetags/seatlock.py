"""Money, seat labels and the seat map for templates (the logic lives in plain modules)."""

from django import template

from booking import formatting, seatmap

register = template.Library()

register.simple_tag(formatting.money, name="money")
register.simple_tag(formatting.seat_label, name="seat_label")
register.filter("state_label", formatting.state_label)


@register.filter
def lookup(mapping, key):
    return mapping.get(key) if mapping else None


@register.simple_tag
def seat_grid(geometry, states, showtime, zone_labels):
    return seatmap.seat_grid(
        geometry, states, showtime_id=showtime.pk, zone_labels=zone_labels, currency=showtime.currency
    )


@register.simple_tag
def seat_button(seat, view, showtime, zone_labels, oob=False):
    return seatmap.seat_button(
        seat,
        view,
        showtime_id=showtime.pk,
        zone_label=zone_labels[seat.zone],
        currency=showtime.currency,
        oob=oob,
    )
