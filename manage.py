#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lims.settings")
    # The command line is for developers; servers (wsgi.py, the Celery app) default to
    # production, and the container image sets LIMS_ENV=production for manage.py too.
    os.environ.setdefault("LIMS_ENV", "development")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
