from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = _("JSON API")

    def ready(self) -> None:
        # Registers the Api-Key security scheme with drf-spectacular (an import side effect).
        from api import schema  # noqa: F401
