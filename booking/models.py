"""Films, showtimes, the per-showtime seat inventory, orders, tickets and the audit ledger.

State changes live in the `booking.services` package; this module only declares the data and the
database constraints that make a double sale impossible even if a service had a bug.
"""

import re
import secrets

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from halls.models import Hall

# No 0/O, 1/I/L, 5/S, 2/Z, 8/B: a reference is read out over the counter and typed on phones.
REFERENCE_ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"
REFERENCE_LENGTH = 7
# Any reference there is or was (Order.reference holds up to 12): letters and digits.
REFERENCE_PATTERN = "[0-9A-Za-z]{1,12}"
TICKET_CODE_BYTES = 12


def new_reference() -> str:
    # One draw from the OS for the whole reference (every hold call carries one, for the order
    # it may open), its digits in base 25: as uniform as a draw per character.
    number = secrets.randbelow(len(REFERENCE_ALPHABET) ** REFERENCE_LENGTH)
    letters = []
    for _position in range(REFERENCE_LENGTH):
        number, digit = divmod(number, len(REFERENCE_ALPHABET))
        letters.append(REFERENCE_ALPHABET[digit])
    return "".join(letters)


def reference_possible(text: str) -> bool:
    """Whether `text` could be an order's reference at all: what a URL (ReferenceConverter) or a
    query parameter says is checked before it reaches a query, where a NUL byte, say, is refused
    by PostgreSQL itself (a 500) and a 10,000-character one is wasted work."""
    return re.fullmatch(REFERENCE_PATTERN, text) is not None


def new_ticket_code() -> str:
    return secrets.token_urlsafe(TICKET_CODE_BYTES)


class Film(models.Model):
    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("slug"), unique=True)
    runtime_minutes = models.PositiveSmallIntegerField(_("runtime (minutes)"))
    rating = models.CharField(_("rating"), max_length=20, blank=True)
    synopsis = models.TextField(_("synopsis"), blank=True)

    class Meta:
        ordering = ["title"]
        verbose_name = _("film")
        verbose_name_plural = _("films")

    def __str__(self) -> str:
        return self.title


class Showtime(models.Model):
    film = models.ForeignKey(Film, on_delete=models.PROTECT, related_name="showtimes", verbose_name=_("film"))
    hall = models.ForeignKey(Hall, on_delete=models.PROTECT, related_name="showtimes", verbose_name=_("hall"))
    starts_at = models.DateTimeField(_("starts at"), db_index=True)
    prices = models.JSONField(
        _("prices"),
        help_text=_('Price per zone in minor units (cents), e.g. {"standard": 950, "vip": 1350}.'),
    )
    currency = models.CharField(_("currency"), max_length=3, default="eur")

    class Meta:
        ordering = ["starts_at"]
        verbose_name = _("showtime")
        verbose_name_plural = _("showtimes")

    def __str__(self) -> str:
        return f"{self.film} – {timezone.localtime(self.starts_at):%Y-%m-%d %H:%M} – {self.hall.name}"

    def get_absolute_url(self) -> str:
        return reverse("booking:showtime", args=[self.pk])

    @property
    def local_start(self):
        """The start in the cinema's own time zone (load with select_related("hall__cinema"))."""
        return timezone.localtime(self.starts_at, self.hall.cinema.tzinfo)

    @property
    def sales_close_at(self):
        return self.starts_at - timezone.timedelta(minutes=settings.SALES_CLOSE_MINUTES)

    def sales_open(self, now=None) -> bool:
        return (now or timezone.now()) < self.sales_close_at


class SeatStatus(models.TextChoices):
    AVAILABLE = "available", _("available")
    HELD = "held", _("held")
    SOLD = "sold", _("sold")
    BLOCKED = "blocked", _("blocked")


class ShowSeat(models.Model):
    """One seat of one showtime: the row that every hold and sale locks."""

    showtime = models.ForeignKey(Showtime, on_delete=models.CASCADE, related_name="seats")
    code = models.CharField(max_length=8)
    zone = models.CharField(max_length=32)
    price = models.PositiveIntegerField(help_text=_("minor units"))
    status = models.CharField(max_length=10, choices=SeatStatus.choices, default=SeatStatus.AVAILABLE)
    order = models.ForeignKey("Order", on_delete=models.PROTECT, null=True, blank=True, related_name="seats")
    held_until = models.DateTimeField(null=True, blank=True)
    block_reason = models.CharField(max_length=200, blank=True)
    # From the hall's geometry (SeatSpec.pos, .kind): side by side exactly when pos differ by 1.
    # The hold function reads neighbours with it (the no-stranded-seat rule).
    pos = models.IntegerField(default=0)
    kind = models.CharField(max_length=16, default="regular")
    # Bumped on every change; the sum over a showtime is the seat map's ETag (see selectors).
    version = models.PositiveIntegerField(default=0)
    # The last transaction that wrote the row, set by a trigger (migration 0008): what a seat
    # map poll asks for when it wants only the seats changed since its last read.
    changed_txid = models.BigIntegerField(db_default=0, editable=False)

    class Meta:
        ordering = ["showtime", "id"]
        indexes = [models.Index(fields=["showtime", "changed_txid"], name="showseat_changed")]
        constraints = [
            models.UniqueConstraint(fields=["showtime", "code"], name="showseat_unique_code"),
            models.UniqueConstraint(fields=["showtime", "pos"], name="showseat_unique_pos"),
            models.CheckConstraint(
                name="showseat_owner_matches_status",
                condition=(
                    Q(status="available", order__isnull=True, held_until__isnull=True)
                    | Q(status="held", order__isnull=False, held_until__isnull=False)
                    | Q(status="sold", order__isnull=False, held_until__isnull=True)
                    | Q(status="blocked", order__isnull=True, held_until__isnull=True)
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.status})"


class OrderStatus(models.TextChoices):
    HOLDING = "holding", _("holding seats")
    PAYING = "paying", _("at payment")
    AWAITING_PAYMENT = "awaiting_payment", _("awaiting a delayed payment")
    PAID = "paid", _("paid")
    EXPIRED = "expired", _("expired")
    CANCELLED = "cancelled", _("cancelled")
    REFUNDED = "refunded", _("refunded")


# Orders that still own held seats: a hold clock runs for them.
OPEN_STATUSES = (OrderStatus.HOLDING, OrderStatus.PAYING)


class Channel(models.TextChoices):
    ONLINE = "online", _("online")
    BOX_OFFICE = "box_office", _("box office")


class PaymentMethod(models.TextChoices):
    STRIPE = "stripe", _("card (online)")
    CASH = "cash", _("cash")
    CARD_TERMINAL = "card_terminal", _("card terminal")


class Order(models.Model):
    reference = models.CharField(max_length=12, unique=True, default=new_reference)
    showtime = models.ForeignKey(Showtime, on_delete=models.PROTECT, related_name="orders")
    # A random token kept in the browser session (not the session key, which rotates on login).
    owner_token = models.CharField(max_length=64, db_index=True)
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    channel = models.CharField(max_length=12, choices=Channel.choices, default=Channel.ONLINE)
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.HOLDING)
    expires_at = models.DateTimeField()
    # The seats of the order as last held, kept after a release so a late payment knows them.
    seat_codes = ArrayField(models.CharField(max_length=8), default=list, blank=True)
    total = models.PositiveIntegerField(default=0, help_text=_("minor units"))
    currency = models.CharField(max_length=3)
    email = models.EmailField(blank=True)
    # The language the customer booked in (the page's, at checkout or at the counter): their
    # emails are written in it. Blank: the site's LANGUAGE_CODE.
    language = models.CharField(
        max_length=8, blank=True, db_default=""
    )  # db_default: the hold function inserts orders
    name = models.CharField(max_length=200, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    payment_method = models.CharField(max_length=16, choices=PaymentMethod.choices, blank=True)
    # Bumped by every change of the basket (and when a payment is abandoned): a payment made
    # for one version is never taken for another (checkout keys Stripe calls on it).
    basket_version = models.PositiveIntegerField(default=0)
    status_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("use_box_office", _("Can use the box office"))]
        constraints = [
            models.UniqueConstraint(
                fields=["showtime", "owner_token"],
                condition=Q(status__in=["holding", "paying"]),
                name="order_one_open_per_owner_and_showtime",
            ),
        ]
        indexes = [
            # The expiry sweep: open orders past their time, oldest first.
            models.Index(
                fields=["expires_at"], condition=Q(status__in=["holding", "paying"]), name="order_open_expiry"
            ),
            models.Index(fields=["email"], name="order_email"),
            # The per-address cap on open orders (MAX_OPEN_ORDERS_PER_IP), counted by a hold
            # that opens an order.
            models.Index(
                fields=["client_ip", "expires_at"],
                condition=Q(status__in=["holding", "paying"]),
                name="order_open_by_ip",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    def get_absolute_url(self) -> str:
        from booking.links import booking_url

        return booking_url(self)


class TicketStatus(models.TextChoices):
    VALID = "valid", _("valid")
    VOID = "void", _("void")


class Ticket(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="tickets")
    showtime = models.ForeignKey(Showtime, on_delete=models.PROTECT, related_name="tickets")
    seat_code = models.CharField(max_length=8)
    zone = models.CharField(max_length=32)
    price = models.PositiveIntegerField()
    code = models.CharField(max_length=32, unique=True, default=new_ticket_code)
    status = models.CharField(max_length=8, choices=TicketStatus.choices, default=TicketStatus.VALID)
    issued_at = models.DateTimeField(default=timezone.now)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["seat_code"]
        constraints = [
            # Invariant 1, enforced by the database: one live ticket per showtime seat.
            models.UniqueConstraint(
                fields=["showtime", "seat_code"],
                condition=Q(status="valid"),
                name="ticket_one_valid_per_seat",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.seat_code} ({self.code})"


class LedgerEntry(models.Model):
    """Append-only audit trail; a database trigger refuses UPDATE and DELETE."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.CharField(
        max_length=150, help_text=_("who: session:…, staff:username, system:…, stripe:evt_…")
    )
    action = models.CharField(max_length=40)
    showtime = models.ForeignKey(Showtime, on_delete=models.PROTECT, related_name="+", null=True)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="ledger", null=True, blank=True)
    seats = ArrayField(models.CharField(max_length=8), default=list, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = _("ledger entries")

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {','.join(self.seats)}"
