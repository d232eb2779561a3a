"""Django's own error pages (a URL no route matches, an unhandled exception) as JSON under /api/.

DRF answers its views' errors itself (api.errors); this catches what happens outside them.
A database outage never gets here as a 500: config.outage, the layer outside this one, answers
it with its own JSON 503.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

API_PREFIX = "/api/"


def _error(status: int) -> tuple[str, str]:
    if status == 404:
        return "not_found", _("Not found.")
    if status == 405:
        return "method_not_allowed", _("This method is not allowed here.")
    if status == 403:
        return "forbidden", _("You may not do this.")
    if status >= 500:
        return "server_error", _("Something went wrong on our side.")
    return "bad_request", _("The request could not be understood.")


class JsonErrorsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            not request.path.startswith(API_PREFIX)
            or response.status_code < 400
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        code, detail = _error(response.status_code)
        json = JsonResponse({"error": code, "detail": detail}, status=response.status_code)
        for name in ("Allow", "Retry-After", "Vary"):
            if name in response:
                json[name] = response[name]
        return json
