"""Money, seat labels and the seat map for templates (the logic lives in plain modules)."""

from django import template

from booking import formatting, seatchange, seatmap

register = template.Library()

register.simple_tag(formatting.money, name="money")
register.simple_tag(formatting.seat_label, name="seat_label")
register.filter("state_label", formatting.state_label)
# Unlike Django's `date`, no conversion to the site's time zone first: that would undo
# Showtime.local_start, which is already in the cinema's own zone.
register.filter("local_date", formatting.local_date, expects_localtime=False)
register.filter("seats_status", seatmap.seats_status)


@register.filter
def lookup(mapping, key):
    return mapping.get(key) if mapping else None


@register.simple_tag
def seat_grid(geometry, states, showtime):
    return seatmap.seat_grid(geometry, states, showtime_id=showtime.pk)


@register.simple_tag
def seat_names(geometry, states, showtime, zone_labels):
    return seatmap.seat_names(geometry, states, zone_labels=zone_labels, currency=showtime.currency)


@register.simple_tag
def seats_oob(geometry, views, showtime):
    """The changed seats of a hold response, in one call (no template work per seat)."""
    return seatmap.seats_oob(geometry, views, showtime_id=showtime.pk)


@register.simple_tag
def zone_class(geometry, zone):
    return seatmap.zone_class(geometry, zone)


@register.simple_tag
def seat_category(geometry, code, zone_labels):
    return seatmap.seat_category(geometry, code, zone_labels)


@register.simple_tag(takes_context=True)
def basket_card(context):
    """The seat page's basket card, drawn as every hold's answer draws it (booking.seatchange)."""
    return seatchange.basket_card(
        context["request"],
        basket=context["basket"],
        showtime_id=context["showtime"].pk,
        geometry=context["geometry"],
        zone_labels=context["zone_labels"],
        sales_open=context["sales_open"],
        sold_out=context.get("sold_out", False),
        hold_minutes=context["hold_minutes"],
    )
