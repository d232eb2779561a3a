"""The API's JSON: request bodies are validated here, responses described (and drawn) here."""

import segno
from django.core.validators import URLValidator
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.selectors import order_status
from booking.links import booking_token
from booking.models import OrderStatus, TicketStatus
from booking.selectors import SeatState
from booking.services import MAX_CODES_PER_REQUEST

SEAT_STATES = [SeatState.AVAILABLE, SeatState.HELD, SeatState.MINE, SeatState.SOLD, SeatState.BLOCKED]
ORDER_STATUSES = ["holding", "paying", "awaiting_payment", "paid", "expired", "cancelled", "refunded"]


# --- errors ---------------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text=gettext_lazy("A stable machine-readable code."))
    detail = serializers.CharField(help_text=gettext_lazy("A sentence for people."))
    fields = serializers.DictField(required=False, help_text=gettext_lazy("Per-field messages of a 400."))


class SeatConflictSerializer(ErrorSerializer):
    seats = serializers.ListField(child=serializers.CharField(), required=False)


# --- showtimes and seats --------------------------------------------------------------------


class ShowtimeFilterSerializer(serializers.Serializer):
    date = serializers.DateField(required=False, help_text=gettext_lazy("Local date of the cinema."))
    film = serializers.CharField(required=False, max_length=100, help_text=gettext_lazy("Film slug or id."))
    page = serializers.IntegerField(required=False, min_value=1)


class FilmSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    title = serializers.CharField()


class PlaceSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()


class ShowtimeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    film = FilmSerializer()
    cinema = PlaceSerializer(source="hall.cinema")
    hall = PlaceSerializer()
    starts_at = serializers.SerializerMethodField()
    currency = serializers.CharField()
    sales_open = serializers.SerializerMethodField()
    seats_available = serializers.IntegerField()

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_starts_at(self, showtime) -> str:
        return showtime.local_start.isoformat()  # in the cinema's own time zone, with its offset

    def get_sales_open(self, showtime) -> bool:
        return showtime.sales_open(self.context.get("now"))


class ShowtimePageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ShowtimeSerializer(many=True)


class SeatSerializer(serializers.Serializer):
    code = serializers.CharField()
    row = serializers.CharField()
    number = serializers.IntegerField()
    zone = serializers.CharField()
    kind = serializers.CharField()
    price = serializers.IntegerField(help_text=gettext_lazy("Minor units (cents)."))
    state = serializers.ChoiceField(choices=SEAT_STATES)


class SeatMapSerializer(serializers.Serializer):
    showtime = serializers.IntegerField()
    seats = SeatSerializer(many=True)


# --- orders ---------------------------------------------------------------------------------


class SeatsRequestSerializer(serializers.Serializer):
    seats = serializers.ListField(
        child=serializers.CharField(max_length=8),
        min_length=1,
        max_length=MAX_CODES_PER_REQUEST,
        required=False,
        help_text=gettext_lazy("Seat codes, e.g. F12."),
    )
    best = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_CODES_PER_REQUEST,
        help_text=gettext_lazy(
            "The best N seats together, held atomically (409 no_seats_together when no group fits)."
        ),
    )
    zone = serializers.CharField(
        required=False, max_length=32, help_text=gettext_lazy("With best: a price zone.")
    )

    def validate(self, attrs):
        if ("seats" in attrs) == ("best" in attrs):
            raise serializers.ValidationError(_("Send either seats or best."))
        if "zone" in attrs and "best" not in attrs:
            raise serializers.ValidationError({"zone": _("A zone goes with best only.")})
        return attrs


class OrderCreateSerializer(SeatsRequestSerializer):
    showtime = serializers.IntegerField(min_value=1)


class CheckoutRequestSerializer(serializers.Serializer):
    email = serializers.EmailField()
    success_url = serializers.URLField(
        required=False, max_length=2000, validators=[URLValidator(schemes=["https", "http"])]
    )
    cancel_url = serializers.URLField(
        required=False, max_length=2000, validators=[URLValidator(schemes=["https", "http"])]
    )


class CheckoutSerializer(serializers.Serializer):
    checkout_url = serializers.URLField()


class TicketSerializer(serializers.Serializer):
    code = serializers.CharField()
    seat = serializers.CharField(source="seat_code")
    qr_url = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.URI)
    def get_qr_url(self, ticket) -> str:
        # A data: URL: the QR is drawn here, and no other service ever sees a ticket code.
        return segno.make(ticket.code, error="m").svg_data_uri(scale=4, border=2)


class OrderSerializer(serializers.Serializer):
    reference = serializers.CharField()
    status = serializers.SerializerMethodField()
    showtime = serializers.IntegerField(source="showtime_id")
    seats = serializers.ListField(child=serializers.CharField(), source="seat_codes")
    total = serializers.IntegerField(help_text=gettext_lazy("Minor units (cents)."))
    currency = serializers.CharField()
    expires_at = serializers.DateTimeField()
    tickets = serializers.SerializerMethodField()
    pdf_url = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ChoiceField(choices=ORDER_STATUSES))
    def get_status(self, order) -> str:
        return order_status(order)

    def _valid_tickets(self, order) -> list:
        """A paid order's valid tickets, read once for both fields that need them."""
        if order.status != OrderStatus.PAID:
            return []
        read = self.__dict__.setdefault("_tickets_read", {})
        if order.pk not in read:
            read[order.pk] = list(order.tickets.filter(status=TicketStatus.VALID))
        return read[order.pk]

    @extend_schema_field(TicketSerializer(many=True))
    def get_tickets(self, order) -> list:
        return TicketSerializer(self._valid_tickets(order), many=True).data

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_pdf_url(self, order) -> str | None:
        """The booking page's signed PDF link: the key already proved the order is its own, and
        the customer's app may hand the link on (it opens without a key, like the emailed booking link)."""
        if not self._valid_tickets(order):  # what booking.tickets.has_tickets asks, without a query
            return None
        path = reverse("booking:booking_pdf", args=[order.reference])
        return self.context["request"].build_absolute_uri(f"{path}?t={booking_token(order.reference)}")
