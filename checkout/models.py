from django.db import models
from django.utils.translation import gettext_lazy as _


class StripeEvent(models.Model):
    """Every webhook event id we have seen: a duplicate delivery finds its row and stops."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=200, blank=True)
    payload = models.JSONField()

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"


class PaymentStatus(models.TextChoices):
    OPEN = "open", _("open")  # the hosted payment page can still be paid
    PAID = "paid", _("paid")
    EXPIRED = "expired", _("expired")  # closed unpaid (expired, abandoned, or failed)
    REFUNDED = "refunded", _("refunded")


class Payment(models.Model):
    """One Stripe Checkout Session for one version of an order's basket.

    The Stripe identifiers live here, not on `booking.Order`: booking knows nothing of Stripe.
    Money kept for an order = sum(amount_captured - amount_refunded) over its payments.
    """

    order = models.ForeignKey("booking.Order", on_delete=models.PROTECT, related_name="payments")
    session_id = models.CharField(max_length=255, unique=True)
    url = models.URLField(max_length=2000, blank=True)
    payment_intent = models.CharField(max_length=255, blank=True, db_index=True)
    basket_version = models.PositiveIntegerField(default=0)
    amount = models.PositiveIntegerField(help_text=_("what the session asks for, minor units"))
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.OPEN)
    amount_captured = models.PositiveIntegerField(default=0)
    amount_refunded = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [
            # One payment page per order at a time: a second checkout returns this one.
            models.UniqueConstraint(
                fields=["order"], condition=models.Q(status="open"), name="payment_one_open_per_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.session_id} ({self.status})"
