from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CheckoutConfig(AppConfig):
    name = "checkout"
    verbose_name = _("Checkout and payments")

    def ready(self) -> None:
        from booking import hooks
        from checkout import checks  # noqa: F401 - registers the deploy check
        from checkout.services import payment_close_for_order

        # booking never imports checkout: it asks through this one registered hook.
        hooks.payment_closer_register(payment_close_for_order)
