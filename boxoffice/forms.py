"""Forms of the box-office pages. Parsing only: the services decide what is allowed."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from booking.forms import SeatCodesField
from booking.models import PaymentMethod, Showtime


class SeatActionForm(forms.Form):
    ACTIONS = [
        ("hold", _("Hold for sale")),
        ("release", _("Release")),
        ("block", _("Block")),
        ("unblock", _("Unblock")),
    ]
    action = forms.ChoiceField(choices=ACTIONS)
    seat = SeatCodesField(label=_("Seats"), error_messages={"required": _("Select at least one seat.")})
    reason = forms.CharField(label=_("Reason (for blocking)"), max_length=200, required=False)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") == "block" and not cleaned.get("reason"):
            self.add_error("reason", _("Say why the seats are blocked (house seats, broken seat…)."))
        return cleaned


class CounterSaleForm(forms.Form):
    payment_method = forms.ChoiceField(
        label=_("Payment"),
        choices=[(PaymentMethod.CASH, _("Cash")), (PaymentMethod.CARD_TERMINAL, _("Card terminal"))],
        widget=forms.RadioSelect,
    )
    name = forms.CharField(label=_("Customer name (optional)"), max_length=200, required=False)
    email = forms.EmailField(label=_("Customer email (optional)"), required=False)


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200)


class ReseatForm(forms.Form):
    seats = SeatCodesField(label=_("New seats (e.g. F5 F6)"), widget=forms.TextInput)


class CheckInForm(forms.Form):
    code = forms.CharField(
        label=_("Ticket code"),
        max_length=64,
        # A scanner types into it: no browser suggestions, capitals or spelling fixes in between.
        widget=forms.TextInput(
            attrs={
                "autofocus": True,
                "autocomplete": "off",
                "autocapitalize": "none",
                "spellcheck": "false",
                "enterkeyhint": "go",
            }
        ),
    )
    showtime = forms.ModelChoiceField(
        label=_("Showtime at this door"),
        queryset=Showtime.objects.none(),
        required=False,
        empty_label=_("any showtime"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        self.fields["showtime"].queryset = (
            Showtime.objects.filter(starts_at__gte=today, starts_at__lt=today + timezone.timedelta(days=2))
            .select_related("film", "hall")
            .order_by("starts_at")
        )
