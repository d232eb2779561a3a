"""Housekeeping: idempotency records are only replayed for API_IDEMPOTENCY_HOURS."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from api.models import IdempotencyRecord


@db_periodic_task(crontab(minute="17"))
def idempotency_purge() -> int:
    cutoff = timezone.now() - timedelta(hours=settings.API_IDEMPOTENCY_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(started_at__lt=cutoff).delete()
    return deleted
