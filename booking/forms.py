"""Forms of the moviegoer pages. Parsing only: the services decide what is allowed."""

import re

from django import forms
from django.utils.translation import gettext_lazy as _

CODE_SPLIT = re.compile(r"[\s,;]+")


class SeatCodesField(forms.Field):
    """A list of seat codes: repeated form fields or one field of codes separated by spaces."""

    widget = forms.SelectMultiple

    def to_python(self, value):
        if not value:
            return []
        if isinstance(value, str):
            value = [value]
        codes = []
        for item in value:
            codes.extend(code.upper() for code in CODE_SPLIT.split(str(item)) if code)
        return codes

    def validate(self, value):
        super().validate(value)
        if len(value) > 50:
            raise forms.ValidationError(_("Too many seats at once."))


class CheckoutForm(forms.Form):
    """The email the tickets go to; the basket's own markup renders the field (no crispy on
    the hot path: a hold response re-renders the basket)."""

    email = forms.EmailField(label=_("Email for your tickets"), max_length=254)
