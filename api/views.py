"""The JSON API (DESIGN.md, docs/api.md): parse, call one service or selector, answer.

Reads are public; writes and an order's own reads need an API key. Errors are JSON
(api.errors); POSTs honour `Idempotency-Key` (api.idempotency).
"""

from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework_api_key.models import APIKey

from api import selectors, services
from api.authentication import HasApiKey
from api.idempotency import idempotent
from api.schema import IDEMPOTENCY_KEY, ORDER_OF_KEY
from api.serializers import (
    CheckoutRequestSerializer,
    CheckoutSerializer,
    ErrorSerializer,
    OrderCreateSerializer,
    OrderSerializer,
    SeatConflictSerializer,
    SeatMapSerializer,
    SeatsRequestSerializer,
    ShowtimeFilterSerializer,
    ShowtimePageSerializer,
    ShowtimeSerializer,
)
from booking import selectors as booking_selectors
from booking.models import Order, Showtime

ERRORS = {code: ErrorSerializer for code in (400, 401, 403, 404, 429)}
WRITE_ERRORS = {**ERRORS, 409: SeatConflictSerializer, 410: ErrorSerializer, 422: ErrorSerializer}


class ShowtimePagination(PageNumberPagination):
    page_size = 50


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _own_order(request, reference: str) -> Order:
    order = selectors.api_order(reference=reference, api_key=request.auth)
    if order is None:
        raise NotFound(_("There is no order %(reference)s for this API key.") % {"reference": reference})
    return order


def _seats_wanted(data: dict) -> dict:
    """Named seats, or best=N (and a zone): the keyword arguments of the order services."""
    if "best" in data:
        return {"best": data["best"], "zone": data.get("zone")}
    return {"codes": data["seats"]}


@extend_schema(parameters=[ShowtimeFilterSerializer], responses={200: ShowtimePageSerializer, **ERRORS})
@api_view(["GET"])
def showtime_list(request):
    filters = _valid(ShowtimeFilterSerializer, request.query_params)
    showtimes = selectors.showtimes_upcoming(day=filters.get("date"), film=filters.get("film"))
    paginator = ShowtimePagination()
    page = paginator.paginate_queryset(showtimes, request)
    return paginator.get_paginated_response(ShowtimeSerializer(page, many=True).data)


@extend_schema(parameters=[ORDER_OF_KEY], responses={200: SeatMapSerializer, 304: None, **ERRORS})
@api_view(["GET"])
def showtime_seats(request, showtime_id: int):
    """Every seat and its state; send the ETag back in If-None-Match and get 304 while nothing changed."""
    viewer = None
    if isinstance(request.auth, APIKey) and request.query_params.get("order"):
        viewer = selectors.api_order(reference=request.query_params["order"], api_key=request.auth)
    tag = booking_selectors.seat_map_etag(showtime_id=showtime_id, viewer_order_id=viewer and viewer.pk)
    if tag is None:
        raise NotFound(_("There is no such showtime."))
    etag = f'"{tag.strip(chr(34))}-json"'  # never equal to the HTML map's tag for the same seats
    response = get_conditional_response(request, etag=etag)
    if response is None:
        showtime = Showtime.objects.select_related("hall").get(pk=showtime_id)
        states = booking_selectors.seat_states(showtime_id=showtime_id, viewer_order_id=viewer and viewer.pk)
        seats = [
            {
                "code": seat.code,
                "row": seat.row,
                "number": seat.number,
                "zone": seat.zone,
                "kind": seat.kind,
                "price": states[seat.code].price,
                "state": states[seat.code].state,
            }
            for seat in showtime.hall.geometry.seats
            if seat.code in states
        ]
        response = Response(SeatMapSerializer({"showtime": showtime_id, "seats": seats}).data)
    response["ETag"] = etag
    patch_cache_control(response, no_cache=True)
    patch_vary_headers(response, ["Authorization"])
    return response


@extend_schema(
    request=OrderCreateSerializer,
    parameters=[IDEMPOTENCY_KEY],
    responses={201: OrderSerializer, **WRITE_ERRORS},
)
@api_view(["POST"])
@permission_classes([HasApiKey])
@idempotent
def order_create(request):
    data = _valid(OrderCreateSerializer, request.data)
    wanted = _seats_wanted(data)
    if not selectors.showtime_exists(data["showtime"]):
        raise NotFound(_("There is no such showtime."))
    order = services.api_order_create(api_key=request.auth, showtime_id=data["showtime"], **wanted)
    return Response(OrderSerializer(order, context={"request": request}).data, status=201)


@extend_schema(responses={200: OrderSerializer, **ERRORS})
@api_view(["GET"])
@permission_classes([HasApiKey])
def order_detail(request, reference: str):
    order = _own_order(request, reference)
    return Response(OrderSerializer(order, context={"request": request}).data)


@extend_schema(
    request=SeatsRequestSerializer,
    parameters=[IDEMPOTENCY_KEY],
    responses={200: OrderSerializer, **WRITE_ERRORS},
)
@api_view(["POST"])
@permission_classes([HasApiKey])
@idempotent
def order_seats_add(request, reference: str):
    order = _own_order(request, reference)
    wanted = _seats_wanted(_valid(SeatsRequestSerializer, request.data))
    order = services.api_order_add_seats(api_key=request.auth, order=order, **wanted)
    return Response(OrderSerializer(order, context={"request": request}).data)


@extend_schema(responses={200: OrderSerializer, **WRITE_ERRORS})
@api_view(["DELETE"])
@permission_classes([HasApiKey])
def order_seat_release(request, reference: str, code: str):
    order = _own_order(request, reference)
    order = services.api_order_release_seat(api_key=request.auth, order=order, code=code)
    return Response(OrderSerializer(order, context={"request": request}).data)


@extend_schema(
    request=CheckoutRequestSerializer,
    parameters=[IDEMPOTENCY_KEY],
    responses={200: CheckoutSerializer, **WRITE_ERRORS, 503: ErrorSerializer},
)
@api_view(["POST"])
@permission_classes([HasApiKey])
@idempotent
def order_checkout(request, reference: str):
    order = _own_order(request, reference)
    data = _valid(CheckoutRequestSerializer, request.data)
    url = services.api_order_checkout(
        api_key=request.auth,
        order=order,
        email=data["email"],
        success_url=data.get("success_url"),
        cancel_url=data.get("cancel_url"),
    )
    return Response(CheckoutSerializer({"checkout_url": url}).data)
