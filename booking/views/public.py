from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from booking import selectors
from booking.links import booking_token_valid
from booking.models import Order, Showtime


@require_GET
def now_showing(request: HttpRequest):
    return render(request, "booking/now_showing.html", {"films": selectors.films_now_showing()})


@require_GET
def showtime_detail(request: HttpRequest, showtime_id: int):
    showtime = get_object_or_404(Showtime.objects.select_related("film", "hall__cinema"), pk=showtime_id)
    return render(request, "booking/showtime.html", {"showtime": showtime})


@require_GET
def booking_detail(request: HttpRequest, reference: str):
    if not booking_token_valid(reference, request.GET.get("t", "")):
        raise Http404
    order = get_object_or_404(
        Order.objects.select_related("showtime__film", "showtime__hall"), reference=reference
    )
    return render(request, "booking/booking.html", {"order": order, "tickets": order.tickets.all()})
