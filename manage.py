#!/usr/bin/env python3
"""Django's command-line utility for administrative tasks."""

import os
import sys

# Commands that never open a database connection. Every other command, when DATABASE_URL is
# unset, first starts this checkout's embedded PostgreSQL (or finds it running). A list of the
# exceptions rather than of the commands that need a database: a command added later, here or
# by a third-party app, then just works, and a wrong guess costs only a server started for
# nothing. (`makemigrations` merely warns when it cannot check the migration history.)
NO_DATABASE = {
    "help",
    "version",
    "check",
    "makemigrations",
    "makemessages",
    "compilemessages",
    "collectstatic",
    "findstatic",
    "diffsettings",
    "startapp",
    "startproject",
    "sendtestemail",
}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    command = sys.argv[1] if len(sys.argv) > 1 else "help"
    if not os.environ.get("DATABASE_URL") and command not in NO_DATABASE and not command.startswith("-"):
        from config import embedded_db

        embedded_db.ensure_running()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
