"""Django's database session stores, writing a session in one statement.

Django's `db` store writes a session in a transaction of its own: a new session costs an
`exists` query for its key, then BEGIN, INSERT and COMMIT (four round trips); a changed one
BEGIN, UPDATE and COMMIT (three). A buyer's first hold creates their session (and, until the
sixth session of 2026-12-06, every hold that opened an order wrote its id there; now a signed
cookie keeps it, booking.buyer): in a premiere's first second, that was
three or four round trips beside the hold's one for every buyer.

Here a new session is `INSERT … ON CONFLICT DO NOTHING` (a key already taken inserts nothing,
and `create()` draws another: no `exists` query first) and a changed one a plain `UPDATE`,
each one statement in autocommit. Django's meaning is kept: a key taken raises CreateError,
a session whose row is gone (cleared, expired and swept) raises UpdateError, which the session
middleware turns into SessionInterrupted. No transaction is needed: neither statement can fail
half-way, and neither raises IntegrityError inside a caller's transaction.

`config.sessions.db` replaces Django's `db` store, `config.sessions.cached_db` its `cached_db`
store (the same, then the cache write); SESSION_ENGINE picks one (config/settings.py).
"""

from django.contrib.sessions.backends import db as django_db
from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError, UpdateError
from django.db import connections, router
from django.utils.crypto import get_random_string


class SessionStore(django_db.SessionStore):
    # Named as Django's: a session's signature is salted with the store's class name
    # (SessionBase.key_salt), so sessions written before and after a switch both still read.

    def _get_new_session_key(self) -> str:
        # No `exists` query: the insert tells a key already taken, and create() draws again.
        return get_random_string(32, VALID_KEY_CHARS)

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()
        data = self._get_session(no_load=must_create)
        row = self.create_model_instance(data)
        db_alias = router.db_for_write(self.model, instance=row)
        connection = connections[db_alias]
        table = connection.ops.quote_name(self.model._meta.db_table)
        values = [row.session_key, row.session_data, row.expire_date]
        with connection.cursor() as cursor:
            if must_create:
                cursor.execute(
                    f"INSERT INTO {table} (session_key, session_data, expire_date) VALUES (%s, %s, %s) "  # noqa: S608 (a table name)
                    "ON CONFLICT (session_key) DO NOTHING",
                    values,
                )
                if cursor.rowcount != 1:
                    raise CreateError
            else:
                cursor.execute(
                    f"UPDATE {table} SET session_data = %s, expire_date = %s WHERE session_key = %s",  # noqa: S608
                    [*values[1:], values[0]],
                )
                if cursor.rowcount != 1:
                    raise UpdateError
        return None
