"""Django's `db` session store, writing a session in one statement (see config/sessions)."""

from config.sessions import SessionStore

__all__ = ["SessionStore"]
