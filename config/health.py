"""`/healthz`: can this process reach its database and its task queue?"""

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _database_state() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "vendor": connection.vendor}


def _queue_state() -> dict:
    from huey.contrib.djhuey import HUEY

    try:
        pending = HUEY.pending_count()
        scheduled = HUEY.scheduled_count()
    except Exception as exc:
        return {"ok": False, "backend": type(HUEY).__name__, "error": exc.__class__.__name__}
    return {"ok": True, "backend": type(HUEY).__name__, "pending": pending, "scheduled": scheduled}


@never_cache
@require_GET
def healthz(request):
    database = _database_state()
    queue = _queue_state()
    healthy = database["ok"] and queue["ok"]
    body = {"status": "ok" if healthy else "unavailable", "database": database, "queue": queue}
    return JsonResponse(body, status=200 if healthy else 503)
