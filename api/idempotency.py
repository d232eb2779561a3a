"""`Idempotency-Key` on a POST: a retry gets the first answer instead of a second action.

Per API key, for settings.API_IDEMPOTENCY_HOURS. The record is inserted before the view runs
and committed at once, so a concurrent duplicate (another worker, the same key) cannot insert
its own: it finds the record without an answer and gets 409 `idempotency_in_progress`. The
same key with another body (method, path, JSON) is a client bug: 422. Server errors (5xx) and
rate refusals (429) are not kept, so the retry they ask for really runs.
"""

import functools
import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.response import Response

from api.errors import ApiError, exception_handler
from api.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# A record still without an answer after this long belongs to a worker that died mid-request.
ABANDONED_AFTER = timedelta(seconds=60)


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _claim(api_key, key: str, fingerprint: str) -> IdempotencyRecord | None:
    """None when this request is to run (the record is ours), else the finished record."""
    for _attempt in range(2):
        now = timezone.now()
        try:
            with transaction.atomic():
                IdempotencyRecord.objects.create(
                    api_key=api_key, key=key, fingerprint=fingerprint, started_at=now
                )
            return None
        except IntegrityError:
            pass
        with transaction.atomic():
            record = IdempotencyRecord.objects.select_for_update().filter(api_key=api_key, key=key).first()
            if record is None:
                continue  # its request failed and let go of it a moment ago: try again
            lapsed = record.started_at <= now - timedelta(hours=settings.API_IDEMPOTENCY_HOURS)
            abandoned = record.status_code is None and record.started_at <= now - ABANDONED_AFTER
            if lapsed or abandoned:
                record.fingerprint, record.started_at, record.status_code, record.body = (
                    fingerprint,
                    now,
                    None,
                    None,
                )
                record.save(update_fields=["fingerprint", "started_at", "status_code", "body"])
                return None
            if record.fingerprint != fingerprint:
                raise ApiError(
                    422,
                    "idempotency_key_reused",
                    _("This Idempotency-Key was used for a different request; use a new key."),
                )
            if record.status_code is None:
                break
            return record
    raise ApiError(
        409,
        "idempotency_in_progress",
        _("A request with this Idempotency-Key is still running; retry shortly."),
        retry_after=1,
    )


def _keep(api_key, key: str, response) -> None:
    records = IdempotencyRecord.objects.filter(api_key=api_key, key=key, status_code__isnull=True)
    if response is None or response.status_code >= 500 or response.status_code == 429:
        records.delete()
    else:
        records.update(status_code=response.status_code, body=response.data)


def idempotent(view):
    """For DRF function views behind HasApiKey (the record is per key)."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return view(request, *args, **kwargs)
        if not key.strip() or len(key) > MAX_KEY_LENGTH:
            raise ApiError(
                400,
                "invalid_idempotency_key",
                _("Idempotency-Key must be 1 to %(n)d characters.") % {"n": MAX_KEY_LENGTH},
            )
        first = _claim(request.auth, key, _fingerprint(request))
        if first is not None:
            replay = Response(first.body, status=first.status_code)
            replay["Idempotent-Replayed"] = "true"
            return replay
        response = None
        try:
            response = view(request, *args, **kwargs)
        except Exception as exc:
            response = exception_handler(exc, {"request": request})
            if response is None:
                raise  # a bug: the record goes (finally) and the 500 is not replayed
            return response
        finally:
            _keep(request.auth, key, response)
        return response

    return wrapped
