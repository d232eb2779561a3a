"""Box-office pages: staff only (login + the `booking.use_box_office` permission, checked in
every view). Every seat change goes through booking.services, like the website's."""

import datetime
import functools

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from booking import selectors, services
from booking.exceptions import BookingError
from booking.models import Channel, LedgerEntry, Order, OrderStatus, PaymentMethod, Showtime
from booking.tickets import tickets_with_qr
from boxoffice.forms import CancelForm, CheckInForm, CounterSaleForm, ReseatForm, SeatActionForm
from boxoffice.report import report_csv, report_rows
from checkout.services import order_refund


def staff_view(view):
    """Anonymous: to the login page. Logged in without the permission: 403."""

    @functools.wraps(view)
    @login_required
    @permission_required("booking.use_box_office", raise_exception=True)
    def wrapped(request, *args, **kwargs):
        return view(request, *args, **kwargs)

    return wrapped


def _staff_owner(request: HttpRequest) -> str:
    return f"staff-{request.user.pk}"


@require_GET
@vary_on_headers("HX-Request")
@staff_view
def dashboard(request: HttpRequest) -> HttpResponse:
    template = "boxoffice/dashboard.html"
    if request.htmx:
        template += "#occupancy"
    return render(request, template, {"showtimes": selectors.showtimes_with_occupancy()})


def _showtime_context(request: HttpRequest, showtime: Showtime) -> dict:
    order = selectors.open_order(showtime_id=showtime.pk, owner_token=_staff_owner(request))
    return {
        **selectors.seat_map(showtime=showtime, order=order),
        "sale_form": CounterSaleForm(),
        "counter_cap": services.seat_cap(Channel.BOX_OFFICE),
    }


@require_GET
@staff_view
def showtime_seats(request: HttpRequest, showtime_id: int) -> HttpResponse:
    showtime = get_object_or_404(Showtime.objects.select_related("film", "hall__cinema"), pk=showtime_id)
    return render(request, "boxoffice/showtime.html", _showtime_context(request, showtime))


@require_POST
@staff_view
def seat_action(request: HttpRequest, showtime_id: int) -> HttpResponse:
    """Hold, release, block or unblock the selected seats."""
    # With hall and cinema: the services and the stranded-seat warning read no more of it.
    showtime = get_object_or_404(Showtime.objects.select_related("hall__cinema"), pk=showtime_id)
    form = SeatActionForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("box_office:showtime", showtime.pk)
    action, codes = form.cleaned_data["action"], form.cleaned_data["seat"]
    actor = services.Actor.staff(request.user)
    try:
        if action == "hold":
            services.seat_hold(
                showtime_id=showtime.pk,
                codes=codes,
                owner_token=_staff_owner(request),
                actor=actor,
                channel=Channel.BOX_OFFICE,
                staff_user=request.user,
                showtime=showtime,
            )
        elif action == "release":
            services.seat_release(
                showtime_id=showtime.pk,
                codes=codes,
                owner_token=_staff_owner(request),
                actor=actor,
                channel=Channel.BOX_OFFICE,
                showtime=showtime,
            )
        elif action == "block":
            services.seat_block(
                showtime_id=showtime.pk, codes=codes, reason=form.cleaned_data["reason"], actor=actor
            )
        else:
            services.seat_unblock(
                showtime_id=showtime.pk, codes=codes, actor=actor, reason=form.cleaned_data["reason"]
            )
    except BookingError as exc:
        messages.error(request, exc.message)
    else:
        if action in ("hold", "release", "block") and (
            lone := selectors.stranded_seats(showtime=showtime, codes=codes)
        ):
            # Staff are warned, not refused: the customer at the counter may want exactly these.
            messages.warning(
                request,
                _("Seats %(seats)s are now on their own: online buyers will find them hard to sell.")
                % {"seats": ", ".join(lone)},
            )
    return redirect("box_office:showtime", showtime.pk)


@require_POST
@staff_view
def sell(request: HttpRequest, showtime_id: int) -> HttpResponse:
    showtime = get_object_or_404(Showtime, pk=showtime_id)
    order = selectors.open_order(showtime_id=showtime.pk, owner_token=_staff_owner(request))
    form = CounterSaleForm(request.POST)
    if order is None or not order.seat_codes:
        messages.error(request, _("Select and hold seats first."))
        return redirect("box_office:showtime", showtime.pk)
    if not form.is_valid():
        messages.error(request, _("Choose how the customer pays."))
        return redirect("box_office:showtime", showtime.pk)
    result = services.order_sell_at_counter(
        order_id=order.pk, actor=services.Actor.staff(request.user), **form.cleaned_data
    )
    if result.outcome != services.ConfirmOutcome.CONFIRMED:
        messages.error(
            request,
            _("Could not sell: seats %(seats)s are no longer held.")
            % {"seats": ", ".join(result.lost_seats)},
        )
        return redirect("box_office:showtime", showtime.pk)
    return redirect("box_office:tickets", order.reference)


def _order(reference: str) -> Order:
    return get_object_or_404(
        Order.objects.select_related("showtime__film", "showtime__hall__cinema"), reference=reference
    )


@require_GET
@staff_view
def tickets(request: HttpRequest, reference: str) -> HttpResponse:
    order = _order(reference)
    tickets = tickets_with_qr(order, scale=3, valid_only=True)
    return render(request, "boxoffice/tickets.html", {"order": order, "tickets": tickets})


@require_GET
@staff_view
def bookings(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")[:200]
    return render(
        request,
        "boxoffice/bookings.html",
        {"query": query, "orders": selectors.bookings_search(query=query)},
    )


@require_GET
@staff_view
def booking(request: HttpRequest, reference: str) -> HttpResponse:
    order = _order(reference)
    context = {
        "order": order,
        "tickets": order.tickets.select_related("checked_in_by"),
        "history": LedgerEntry.objects.filter(order=order).order_by("created_at", "id"),
        "cancel_form": CancelForm(),
        "reseat_form": ReseatForm(),
    }
    return render(request, "boxoffice/booking.html", context)


@require_http_methods(["GET", "POST"])
@staff_view
def cancel(request: HttpRequest, reference: str) -> HttpResponse:
    """GET asks (the confirmation page, also the body of the booking page's dialog); only the
    POST of that form cancels, so a stray click or a prefetched link changes nothing."""
    order = _order(reference)
    if request.method == "GET":
        if order.status != OrderStatus.PAID:
            messages.error(request, _("Only a paid booking can be cancelled."))
            return redirect("box_office:booking", reference)
        form = CancelForm(initial={"reason": request.GET.get("reason", "")[:200]})
        return render(request, "boxoffice/cancel.html", {"order": order, "cancel_form": form})
    form = CancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a reason for the cancellation."))
        return redirect("box_office:cancel", reference)
    actor = services.Actor.staff(request.user)
    reason = form.cleaned_data["reason"]
    try:
        if order.payment_method == PaymentMethod.STRIPE:
            order_refund(order_id=order.pk, actor=actor, reason=reason)
            messages.success(
                request, _("Booking cancelled; the card payment is being refunded through Stripe.")
            )
        else:
            services.order_cancel(order_id=order.pk, actor=actor, reason=reason)
            messages.success(
                request,
                _("Booking cancelled; hand back the %(method)s payment.")
                % {"method": order.get_payment_method_display()},
            )
    except BookingError as exc:
        messages.error(request, exc.message)
    return redirect("box_office:booking", reference)


@require_POST
@staff_view
def reseat(request: HttpRequest, reference: str) -> HttpResponse:
    order = _order(reference)
    form = ReseatForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("box_office:booking", reference)
    try:
        services.order_reseat(
            order_id=order.pk, codes=form.cleaned_data["seats"], actor=services.Actor.staff(request.user)
        )
        messages.success(request, _("Booking moved; print the new tickets."))
    except BookingError as exc:
        messages.error(request, exc.message)
    return redirect("box_office:booking", reference)


CHECK_IN_STATUS = {
    services.CheckIn.VALID: 200,
    services.CheckIn.ALREADY: 409,
    services.CheckIn.OTHER_SHOWTIME: 409,
    services.CheckIn.VOID: 410,
    services.CheckIn.UNKNOWN: 404,
}


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
@staff_view
def check_in(request: HttpRequest) -> HttpResponse:
    """One scan per POST. The answer's form is empty (the showtime kept), so a scanner that types
    the code and Enter can go on with the next ticket at once, with or without JavaScript."""
    form = CheckInForm(request.POST or None)
    context = {"result": None}
    status = 200
    if request.method == "POST" and form.is_valid():
        result = services.ticket_check_in(
            code=form.cleaned_data["code"],
            showtime_id=form.cleaned_data["showtime"].pk if form.cleaned_data["showtime"] else None,
            actor=services.Actor.staff(request.user),
        )
        status = CHECK_IN_STATUS[result.outcome]
        context = {"result": result, "scanned": form.cleaned_data["code"], "scanned_at": timezone.localtime()}
        form = CheckInForm(initial={"showtime": form.cleaned_data["showtime"]})
    elif request.method == "POST":
        status = 400  # the form says why (no code, a code far too long, an unknown showtime)
    template = "boxoffice/check_in.html"
    if request.htmx:
        template += "#check-in-result"
    return render(request, template, {**context, "form": form}, status=status)


def _report_day(request: HttpRequest) -> datetime.date | None:
    """The day asked for (today when none); None when the parameter is not a date."""
    raw = request.GET.get("date", "")
    if not raw:
        return timezone.localdate()
    try:
        return datetime.date.fromisoformat(raw[:10])
    except ValueError:
        return None


@require_GET
@staff_view
def report(request: HttpRequest) -> HttpResponse:
    day = _report_day(request)
    if day is None:
        messages.error(
            request, _("Not a date: %(value)s. Showing today.") % {"value": request.GET["date"][:20]}
        )
        day = timezone.localdate()
    lines = selectors.shift_report(day=day, tz=timezone.get_current_timezone())
    return render(request, "boxoffice/report.html", {"day": day, "rows": report_rows(lines)})


@require_GET
@staff_view
def report_download(request: HttpRequest) -> HttpResponse:
    day = _report_day(request)
    if day is None:
        return HttpResponseBadRequest(_("Not a date: give ?date=YYYY-MM-DD."), content_type="text/plain")
    lines = selectors.shift_report(day=day, tz=timezone.get_current_timezone())
    response = HttpResponse(
        report_csv(day=day, lines=lines, currency=settings.CURRENCY), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="shift-report-{day.isoformat()}.csv"'
    return response
