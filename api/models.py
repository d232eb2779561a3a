"""What the API adds to booking: which key owns which order, and the idempotency record.

Keys themselves are djangorestframework-api-key's `APIKey` (stored hashed, shown once).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import APIKey


class ApiOrder(models.Model):
    """An order made through an API key: only that key may see or change it."""

    order = models.OneToOneField(
        "booking.Order", on_delete=models.PROTECT, primary_key=True, related_name="api_order"
    )
    api_key = models.ForeignKey(APIKey, on_delete=models.PROTECT, related_name="orders")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API order")
        verbose_name_plural = _("API orders")

    def __str__(self) -> str:
        return f"{self.order_id} ({self.api_key_id})"


class IdempotencyRecord(models.Model):
    """The first answer to a POST carrying `Idempotency-Key`, replayed to its retries.

    The unique constraint is the lock: a concurrent duplicate cannot insert its own row, finds
    this one without a response yet, and is told to retry instead of running twice.
    """

    api_key = models.ForeignKey(APIKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # sha256 of method, path and the canonical JSON body: a retry must be the same request.
    fingerprint = models.CharField(max_length=64)
    started_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_one_per_key"),
        ]
        indexes = [models.Index(fields=["started_at"], name="idempotency_started")]
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")

    def __str__(self) -> str:
        return f"{self.key} ({self.status_code or 'running'})"
