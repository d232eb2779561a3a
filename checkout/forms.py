from crispy_forms.helper import FormHelper
from django import forms
from django.utils.translation import gettext_lazy as _


class CheckoutForm(forms.Form):
    email = forms.EmailField(
        label=_("Email for your tickets"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
