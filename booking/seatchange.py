"""A seat click's answer, built in Python: the changed seats, the basket card and the status
line, as out-of-band swaps (DESIGN.md's hold and release responses).

It is the hot path of an on-sale: every hold and release of every buyer draws it. Through the
template engine (a partial, an include for the checkout form, a dozen translate, url and
csrf_token nodes) it cost as much CPU as the hold's database call; here the parts that depend
only on the language and the showtime are joined once per worker (`_fixed`), and a basket is a
handful of string joins (docs/benchmarks.md, 2026-12-06 third session). The page draws its basket
card with the same function (`{% basket_card %}`), so there is one markup to change.
"""

import dataclasses
import functools

from django.middleware.csrf import CSRF_TOKEN_LENGTH, get_token
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from booking import formatting, seatmap


@dataclasses.dataclass(frozen=True, slots=True)
class _Fixed:
    """The basket card's parts that depend only on the language and the showtime."""

    title: str  # '<div class="card-body"><h2 …>Your seats</h2>'
    total: str
    held_for: str
    expired: str
    companion_form: str  # the hold form of a companion seat, up to its CSRF token's value
    checkout_form: str  # the checkout form up to its CSRF token's value
    checkout_rest: str
    time_left: str
    continue_link: str
    closed: str
    sold_out: str
    empty: str


@functools.lru_cache(maxsize=256)
def _fixed(language: str | None, prefix: str, showtime_id: int) -> _Fixed:
    # Keyed by the script prefix too: reverse() depends on it.
    hold_url = escape(reverse("booking:hold", args=[showtime_id]))
    checkout_url = escape(reverse("checkout:start", args=[showtime_id]))
    return _Fixed(
        title=f'<div class="card-body"><h2 class="h5 card-title" id="basket-title">{escape(_("Your seats"))}</h2>',
        total=(
            '<p class="d-flex justify-content-between fw-bold border-top pt-2">'
            f"<span>{escape(_('Total'))}</span><span data-basket-total>"
        ),
        held_for=escape(_("Held for you for")),
        expired=(
            '<p class="countdown-expired alert alert-warning d-none" role="alert">'
            f"{escape(_('Time is up: your seats were released.'))}</p>"
        ),
        companion_form=(
            f'<form method="post" action="{hold_url}" hx-post="{hold_url}" hx-swap="none" class="mb-2">'
            '<input type="hidden" name="csrfmiddlewaretoken" value="'
        ),
        checkout_form=(
            f'<form method="post" action="{checkout_url}" id="checkout-form" hx-post="{checkout_url}">'
            '<input type="hidden" name="csrfmiddlewaretoken" value="'
        ),
        checkout_rest=(
            '"><div class="mb-2">'
            f'<label class="form-label" for="id_email">{escape(_("Email for your tickets"))}</label>'
            '<input class="form-control" type="email" name="email" id="id_email" required maxlength="254" '
            'autocomplete="email"></div>'
            f'<button class="btn btn-success w-100" type="submit">{escape(_("Continue to payment"))}</button>'
            "</form>"
        ),
        time_left=escape(_("Time left:")),
        continue_link=(
            '<a class="btn btn-success btn-sm ms-auto" href="#checkout-form" data-basket-continue>'
            f"{escape(_('Continue'))}</a>"
        ),
        closed=escape(_("Online sales for this showtime have closed.")),
        sold_out=escape(_("Sold out: there are no seats left to hold.")),
        empty=escape(_("No seats held. Click a free seat to hold it.")),
    )


def _form_token(request) -> str:
    """The masked CSRF token for the card's forms.

    A hold or release is a POST that passed CsrfViewMiddleware with the masked token its form
    posted (masked for the same secret): that token serves the next form too. get_token() would
    mask a new one (32 random draws from the OS) and have the middleware send the CSRF cookie
    again, on every click of a sale. Only a masked token is echoed (Django also accepts the bare
    secret, which must never appear in a page), and only once the middleware has accepted it."""
    posted = request.POST.get("csrfmiddlewaretoken", "") if request.method == "POST" else ""
    if len(posted) == CSRF_TOKEN_LENGTH and getattr(request, "csrf_processing_done", False):
        return posted
    return get_token(request)


def basket_card(
    request,
    *,
    basket,
    showtime_id: int,
    geometry,
    zone_labels: dict,
    sales_open: bool,
    sold_out: bool,
    hold_minutes: int,
    oob: bool = False,
) -> SafeString:
    """The basket card (`#basket`): the held seats, their total and countdown, the checkout
    form; or why there is nothing to hold. `oob` makes it an out-of-band swap."""
    fixed = _fixed(get_language(), get_script_prefix(), showtime_id)
    out = [
        '<section id="basket" class="card basket" tabindex="-1" aria-labelledby="basket-title"',
        ' hx-swap-oob="true">' if oob else ">",
        fixed.title,
    ]
    if basket and basket.seats:
        total = escape(formatting.money(basket.total, basket.currency))
        left = basket.seconds_left
        expires = timezone.localtime(basket.expires_at).isoformat() if basket.expires_at else ""
        # One masked token for every form of the card (a form per offered companion seat besides
        # the checkout form).
        csrf = escape(_form_token(request))
        out += [
            '<ul class="list-unstyled mb-2">',
            seatmap.basket_lines(basket.seats, geometry, zone_labels, basket.currency),
            "</ul>",
            fixed.total,
            total,
            "</span></p>",
            f'<p class="countdown" data-seconds-left="{left}" data-expires-at="{escape(expires)}">',
            f'{fixed.held_for} <strong class="countdown-clock">{left}s</strong></p>',
            fixed.expired,
        ]
        for code in basket.companion_offers:
            label = _("Add the companion seat %(code)s") % {"code": code}
            out += [
                fixed.companion_form,
                csrf,
                f'"><button type="submit" name="seat" value="{escape(code)}" ',
                f'class="btn btn-sm btn-outline-secondary">{escape(label)}</button></form>',
            ]
        count = len(basket.seats)
        seats = ngettext("%(seats)s seat", "%(seats)s seats", count) % {"seats": count}
        out += [
            fixed.checkout_form,
            csrf,
            fixed.checkout_rest,
            # Phones: the map fills the screen and the basket is below it; this bar stays in view.
            '<div class="basket-bar" data-basket-bar>',
            f'<span class="basket-bar-sum"><strong>{escape(seats)}</strong> · {total}</span>',
            f'<span><span class="visually-hidden">{fixed.time_left} </span>',
            f'<span class="basket-bar-clock">{left}s</span></span>',
            fixed.continue_link,
            "</div>",
        ]
    elif not sales_open:
        out.append(f'<p class="mb-0">{fixed.closed}</p>')
    elif sold_out:
        out.append(f'<p class="mb-0">{fixed.sold_out}</p>')
    elif basket:
        out.append(f'<p class="mb-0">{fixed.empty}</p>')
    else:
        invite = ngettext(
            "Click a free seat to hold it for %(minutes)s minute.",
            "Click a free seat to hold it for %(minutes)s minutes.",
            hold_minutes,
        ) % {"minutes": hold_minutes}
        out.append(f'<p class="mb-0">{escape(invite)}</p>')
    out.append("</div></section>")
    return mark_safe("".join(out))  # noqa: S308 (every value above is escaped)


def seat_change(request, context: dict, *, changed: list, error=None) -> str:
    """The answer to a hold or release: the seats it changed, the basket, the status line.

    `context` is the view's seat-map context (selectors.seat_map with the sales flags)."""
    showtime = context["showtime"]
    seats = seatmap.seats_oob(context["geometry"], changed, showtime_id=showtime.pk)
    basket = basket_card(
        request,
        basket=context["basket"],
        showtime_id=showtime.pk,
        geometry=context["geometry"],
        zone_labels=context["zone_labels"],
        sales_open=context["sales_open"],
        sold_out=False,  # a click's answer leaves that to the map's next poll, as before
        hold_minutes=context["hold_minutes"],
        oob=True,
    )
    if error is not None:
        status_class, message = "alert alert-danger", escape(error.message)
    else:
        status_class, message = "visually-hidden", escape(seatmap.seats_status(changed))
    return (
        f"{seats}{basket}"
        f'<div id="seat-status" hx-swap-oob="true" role="status" aria-live="polite" class="{status_class}">'
        f"{message}</div>"
    )
