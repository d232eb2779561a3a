"""OpenAPI pieces drf-spectacular cannot infer: the Api-Key scheme and the shared parameters."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>` (one key per app, kiosk or partner site).",
        }


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Retries with the same key and body get the first answer (24 h).",
)
ORDER_OF_KEY = OpenApiParameter(
    "order",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    required=False,
    description="With your API key: that order's seats read `mine`.",
)
