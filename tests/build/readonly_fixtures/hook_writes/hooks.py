"""Fixture: lifecycle hooks whose module leaves a marker beside itself when imported."""

from pathlib import Path

Path(__file__).with_name("initialized.flag").write_text("yes")


def init(context):
    return None
