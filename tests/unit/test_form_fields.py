"""Select fields take (value, label) pairs, declared or assigned later, without WTForms' deprecated tuples."""
from __future__ import annotations

from werkzeug.datastructures import MultiDict
from wtforms import Form
from wtforms.fields.choices import SelectChoice

from exchange.form_fields import SelectField, SelectMultipleField, select_choices


class _F(Form):
    colour = SelectField("Colour", choices=[("r", "Red"), ("g", "Green")])
    later = SelectField("Later")
    many = SelectMultipleField("Many", choices=[("a", "A"), ("b", "B")])


def test_pairs_become_select_choices_when_declared_and_when_assigned() -> None:
    form = _F(MultiDict({"colour": "g", "later": "x", "many": ["a", "b"]}))
    form.later.choices = [("x", "Ex"), ("y", "Why")]
    for field in (form.colour, form.later, form.many):
        assert all(isinstance(c, SelectChoice) for c in field.choices)
    assert [(c.value, c.label) for c in form.later.choices] == [("x", "Ex"), ("y", "Why")]
    assert form.validate(), form.errors
    assert (form.colour.data, form.later.data, form.many.data) == ("g", "x", ["a", "b"])


def test_a_value_outside_the_choices_is_still_refused() -> None:
    form = _F(MultiDict({"colour": "blue", "later": "x", "many": ["c"]}))
    form.later.choices = [("x", "Ex")]
    assert not form.validate()
    assert set(form.errors) == {"colour", "many"}


def test_select_choices_leaves_none_and_callables_alone() -> None:
    def make() -> list:
        return []

    assert select_choices(None) is None
    assert select_choices(make) is make
    assert [c.value for c in select_choices(["only", SelectChoice("kept")])] == ["only", "kept"]
