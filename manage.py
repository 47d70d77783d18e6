#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scheduler.settings")
    # Commands typed on a developer's machine run in development mode unless told otherwise;
    # the web server (wsgi.py) and the Celery processes keep DEBUG off by default and refuse
    # to start without the production settings.
    os.environ.setdefault("DEBUG", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
