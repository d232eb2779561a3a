"""Django's `cached_db` session store, writing a session in one statement (see config/sessions):
the database write first, then the cache's, as Django's."""

from django.contrib.sessions.backends import cached_db

from config import sessions


class SessionStore(cached_db.SessionStore, sessions.SessionStore):
    pass
