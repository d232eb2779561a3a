"""SqliteHuey that creates its file, and the file's directory, when the queue is first used.

Huey's own SqliteStorage creates its tables in `__init__`, which djhuey runs while Django sets
up, so `django.setup()` would write under `var/` (and fail when the directory is missing).
Here the directory and the tables appear with the first connection instead.
"""

import sqlite3
from pathlib import Path

import huey
from huey.storage import SqliteStorage


class LazySqliteStorage(SqliteStorage):
    def __init__(self, *args, **kwargs) -> None:
        kwargs["create_tables"] = False
        super().__init__(*args, **kwargs)

    def _create_connection(self) -> sqlite3.Connection:
        Path(self.filename).parent.mkdir(parents=True, exist_ok=True)
        conn = super()._create_connection()
        conn.execute(self.begin_sql)  # exclusive: two processes starting at once wait in turn
        try:
            for sql in self.ddl:
                conn.execute(sql)
        except Exception:
            conn.rollback()
            raise
        conn.commit()
        return conn


class SqliteHuey(huey.SqliteHuey):
    storage_class = LazySqliteStorage
