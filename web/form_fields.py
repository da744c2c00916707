"""Typed access to a form's declared fields, for code that narrows their choices at run time.

`form.fields` maps names to plain `Field`s; these say which kind a field was declared as, so
setting its `queryset` or `choices` is checked like any other attribute.
"""

from django import forms


def model_choice(form: forms.BaseForm, name: str) -> forms.ModelChoiceField:
    field = form.fields[name]
    if not isinstance(field, forms.ModelChoiceField):
        raise TypeError(f"{type(form).__name__}.{name} is not a model choice field")
    return field


def choice(form: forms.BaseForm, name: str) -> forms.ChoiceField:
    field = form.fields[name]
    if not isinstance(field, forms.ChoiceField):
        raise TypeError(f"{type(form).__name__}.{name} is not a choice field")
    return field
