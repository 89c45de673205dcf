"""Select fields that take choices as plain ``(value, label)`` pairs.

WTForms 3.3 deprecated tuple choices in favour of ``SelectChoice`` objects and says it will
drop tuples in 3.4. The forms keep declaring pairs (short, and shared with the labels
tables); these fields turn them into ``SelectChoice`` objects when a form is built and when a
view assigns ``field.choices`` later, so the forms do not break on that release.
"""
from __future__ import annotations

from typing import Any

import wtforms
from wtforms.fields.choices import SelectChoice


def select_choices(choices: Any) -> Any:
    """Pairs (or bare values) as SelectChoice objects; None and callables are left to WTForms."""
    if choices is None or callable(choices):
        return choices
    return [c if isinstance(c, SelectChoice) else SelectChoice(*c) if isinstance(c, tuple) else SelectChoice(c)
            for c in choices]


_INHERITED = wtforms.SelectField.choices  # SelectMultipleField inherits it too
#: WTForms' own property, with pairs converted on assignment (views set ``field.choices`` per request).
_CHOICES = property(_INHERITED.fget, lambda self, value: _INHERITED.fset(self, select_choices(value)))


class SelectField(wtforms.SelectField):
    choices = _CHOICES

    def __init__(self, label: Any = None, validators: Any = None, coerce: Any = str, choices: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(label, validators, coerce, select_choices(choices), **kwargs)


class SelectMultipleField(wtforms.SelectMultipleField):
    choices = _CHOICES

    def __init__(self, label: Any = None, validators: Any = None, coerce: Any = str, choices: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(label, validators, coerce, select_choices(choices), **kwargs)
