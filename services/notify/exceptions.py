"""Errors of the notify service, each with a reason a person can read."""
from __future__ import annotations


class TemplateDoesNotFit(ValueError):
    """A template that cannot be made one SMS segment even with every shrinkable field emptied."""

    def __init__(self, template: str, text: str):
        super().__init__(f"SMS template {template!r} does not fit one segment even shortened "
                         f"({len(text)} characters): {text!r}")
        self.template = template
        self.text = text

