"""config.locale.LocaleMiddleware does what Django's LocaleMiddleware does, without its path lookups."""

from unittest import mock

import pytest
from django.conf.urls.i18n import i18n_patterns
from django.http import HttpResponse, HttpResponseNotFound
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.test import RequestFactory, override_settings
from django.urls import path
from django.utils import translation

from config.locale import LocaleMiddleware


def _ok(request):
    return HttpResponse("ok")


def _missing(request):
    return HttpResponseNotFound("no")


# A URLconf with i18n_patterns (SeatLock has none): there the middleware must be Django's own.
urlpatterns = i18n_patterns(path("page/", _ok), prefix_default_language=True)

REQUESTS = [
    # (path, cookie language, Accept-Language)
    ("/showtimes/7/hold/", None, None),
    ("/showtimes/7/hold/", "de", None),
    ("/showtimes/7/hold/", None, "de-DE,de;q=0.9,en;q=0.5"),
    ("/showtimes/7/hold/", "xx", "fr-FR,fr;q=0.9"),
    ("/showtimes/7/hold/", None, "*"),
    ("/de/", None, "en"),
    ("/en-gb/page/", "de", None),
    ("/", None, "de"),
    ("/page/", None, "de"),
]


def _run(middleware_class, path_, cookie, accept, view=_ok):
    factory = RequestFactory()
    extra = {"HTTP_ACCEPT_LANGUAGE": accept} if accept else {}
    request = factory.post(path_, **extra)
    if cookie:
        request.COOKIES["django_language"] = cookie
    with translation.override(None):
        response = middleware_class(view)(request)
        return {
            "language": request.LANGUAGE_CODE,
            "active": translation.get_language(),
            "status": response.status_code,
            "vary": response.get("Vary"),
            "content_language": response.get("Content-Language"),
            "location": response.get("Location"),
        }


@pytest.mark.parametrize(("path_", "cookie", "accept"), REQUESTS)
@pytest.mark.parametrize("view", [_ok, _missing])
def test_it_answers_as_djangos_middleware(path_, cookie, accept, view):
    assert _run(LocaleMiddleware, path_, cookie, accept, view) == _run(
        DjangoLocaleMiddleware, path_, cookie, accept, view
    )


@override_settings(ROOT_URLCONF=__name__)
@pytest.mark.parametrize(("path_", "cookie", "accept"), REQUESTS)
@pytest.mark.parametrize("view", [_ok, _missing])
def test_with_language_prefixed_urls_it_is_djangos_middleware(path_, cookie, accept, view):
    ours = _run(LocaleMiddleware, path_, cookie, accept, view)
    assert ours == _run(DjangoLocaleMiddleware, path_, cookie, accept, view)
    if path_ == "/page/" and view is _missing:
        assert ours["location"] == "/de/page/"  # Django's redirect to the language's prefix


def test_it_does_not_look_for_a_language_in_the_path():
    with mock.patch(
        "django.utils.translation.get_language_from_path", wraps=translation.get_language_from_path
    ) as lookup:
        _run(LocaleMiddleware, "/showtimes/7/hold/", None, "de")
        assert lookup.call_count == 0
        _run(DjangoLocaleMiddleware, "/showtimes/7/hold/", None, "de")
        assert lookup.call_count == 2  # Django's: once for the request, once for the response
