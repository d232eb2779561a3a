"""Order emails moved to booking (booking.emails, task booking.tasks.send_order_email), where the
services that change orders can queue them too.

This task stays one release for emails queued under its name before the move, which a consumer
would otherwise drop as an unknown task.
"""

from huey.contrib.djhuey import db_task

from booking.emails import order_email_send


@db_task(retries=3, retry_delay=30)
def send_order_email(order_id: int, kind: str, reason: str = "") -> None:
    order_email_send(order_id=order_id, kind=kind, reason=reason)
