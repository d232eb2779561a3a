"""Django's LocaleMiddleware, without the language-in-the-path lookups SeatLock's URLs never use.

Django's middleware asks `get_language_from_path()` twice per request, whether or not the
URLconf has `i18n_patterns`. On a path such as /showtimes/7/hold/ the first segment looks like a
language code ("showtimes"), so each lookup walks the fallbacks and raises LookupError, which
the language cache does not keep: about a third of the middleware's cost, on every request.
SeatLock chooses the language from the switcher's cookie, else Accept-Language, else
LANGUAGE_CODE (config/settings.py); with no `i18n_patterns` the path lookup decides nothing.
So this one skips it then, and does exactly what Django's does otherwise (it hands a URLconf
with `i18n_patterns` to Django's own code). tests/config/test_locale.py compares the two.
"""

from django.conf import settings
from django.conf.urls.i18n import is_language_prefix_patterns_used
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.utils import translation
from django.utils.cache import patch_vary_headers


def _prefix_patterns_used(request) -> bool:
    return is_language_prefix_patterns_used(getattr(request, "urlconf", settings.ROOT_URLCONF))[0]


class LocaleMiddleware(DjangoLocaleMiddleware):
    def process_request(self, request):
        if _prefix_patterns_used(request):
            return super().process_request(request)
        translation.activate(translation.get_language_from_request(request))
        request.LANGUAGE_CODE = translation.get_language()
        return None

    def process_response(self, request, response):
        if _prefix_patterns_used(request):
            return super().process_response(request, response)
        patch_vary_headers(response, ("Accept-Language",))
        response.headers.setdefault("Content-Language", translation.get_language())
        return response
