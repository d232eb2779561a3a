from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CheckoutConfig(AppConfig):
    name = "checkout"
    verbose_name = _("Checkout and payments")

    def ready(self) -> None:
        from checkout import checks  # noqa: F401 - registers the deploy check
