"""Huey tasks: thin wrappers that take ids and call a service."""

import logging
from datetime import datetime
from importlib import import_module

import redis
from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

from booking import emails, hooks, selectors, services

logger = logging.getLogger(__name__)


def _expiry_task_id(order_id: int) -> str:
    return f"order-expiry-{order_id}"


def expire_due_order(
    *, order_id: int, actor: services.Actor, reason: str = "hold time ran out", skip_locked: bool = False
) -> None:
    """Close the order's payment page first (the payment layer's hook), then release its seats."""
    if not hooks.payment_close(order_id=order_id):
        logger.info("order %s was paid at Stripe just now: left for the webhook", order_id)
        return
    services.order_expire(order_id=order_id, actor=actor, reason=reason, skip_locked=skip_locked)


@db_task()
def expire_order(order_id: int) -> None:
    expire_due_order(order_id=order_id, actor=services.Actor.system("expiry-task"))


def schedule_order_expiry(*, order_id: int, eta: datetime) -> None:
    """Called after the hold's transaction commits, so the task never sees an unsaved order.

    The hold has committed by then: a queue that is down must not turn it into an error
    response. Lazy expiry frees the seats on time anyway, and the per-minute sweep expires the
    order once the queue is back.
    """
    try:
        expire_order.schedule(args=(order_id,), eta=eta, id=_expiry_task_id(order_id))
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        logger.warning("queue unreachable, expiry of order %s left to the sweep: %s", order_id, exc)


def revoke_order_expiry(*, order_id: int) -> None:
    # Only tidiness: a task that runs anyway finds the order paid and does nothing.
    HUEY.revoke_by_id(_expiry_task_id(order_id))


@db_task(retries=3, retry_delay=30)
def send_order_email(order_id: int, kind: str, reason: str = "", details: dict | None = None) -> None:
    emails.order_email_send(order_id=order_id, kind=kind, reason=reason, details=details)


def order_email_queue(order_id: int, kind: str, reason: str = "", details: dict | None = None) -> None:
    """Called after the change's transaction commits. A queue that is down loses this email
    (logged as an error) rather than turning a committed change into an error response."""
    try:
        send_order_email(order_id, kind, reason, details)
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        logger.error("queue unreachable: %s email of order %s not sent: %s", kind, order_id, exc)


@db_periodic_task(crontab(minute="*"))
def sweep_expired_orders() -> None:
    """Safety net for expiry tasks lost with a flushed Redis or a dead worker."""
    actor = services.Actor.system("expiry-sweep")
    for order_id in selectors.orders_due_for_expiry():
        expire_due_order(order_id=order_id, actor=actor, reason="hold time ran out (sweep)", skip_locked=True)


@db_periodic_task(crontab(minute="0"))
def clear_expired_sessions() -> None:
    """Django never deletes the session rows of visits that were simply abandoned."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
