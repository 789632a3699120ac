"""A Django manage.py that leaves DJANGO_SETTINGS_MODULE to the environment, in a folder
that holds no settings module."""

import sys

from django.core.management import execute_from_command_line

if __name__ == "__main__":
    execute_from_command_line(sys.argv)
