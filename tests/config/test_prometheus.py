"""config.prometheus.PrometheusAfterMiddleware writes what django-prometheus' own writes."""

import pytest
from django.test import Client
from prometheus_client import REGISTRY

from config.prometheus import PrometheusAfterMiddleware

DJANGO_PROMETHEUS = "django_prometheus.middleware.PrometheusAfterMiddleware"
OURS = "config.prometheus.PrometheusAfterMiddleware"
# Timings differ from run to run; how many there were does not.
TIMED = ("django_http_requests_latency",)


def _samples() -> dict:
    found = {}
    for metric in REGISTRY.collect():
        if not metric.name.startswith("django_http_"):
            continue
        for s in metric.samples:
            timed = s.name.startswith(TIMED) and not s.name.endswith("_count")
            if not timed and not s.name.endswith("_created"):
                found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def _delta(before: dict, after: dict) -> dict:
    return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}


def _visit(showtime) -> None:
    """Pages, a hold and its refusal, a 404, a 405, a JSON 404 under /api/."""
    mine, other = Client(), Client()
    base = f"/showtimes/{showtime.pk}"
    assert mine.get(f"{base}/").status_code == 200
    assert mine.post(f"{base}/hold/", {"seat": ["A1"]}, headers={"HX-Request": "true"}).status_code == 200
    assert other.post(f"{base}/hold/", {"seat": ["A1"]}, headers={"HX-Request": "true"}).status_code == 409
    assert mine.post(f"{base}/release/", {"seat": ["A1"]}, headers={"HX-Request": "true"}).status_code == 200
    assert mine.get("/no/such/page/").status_code == 404
    assert mine.get(f"{base}/hold/").status_code == 405
    assert mine.get("/api/v1/no-such-thing/").status_code == 404


@pytest.mark.parametrize("rounds", [1, 2])
def test_the_same_series_move_by_the_same_amounts(settings, showtime, rounds):
    """Run twice each (the kept series' second use), ours and django-prometheus', alternately."""
    moved = {}
    for middleware in (OURS, DJANGO_PROMETHEUS, OURS, DJANGO_PROMETHEUS)[: 2 * rounds]:
        settings.MIDDLEWARE = [
            middleware if m in (OURS, DJANGO_PROMETHEUS) else m for m in settings.MIDDLEWARE
        ]
        before = _samples()
        _visit(showtime)
        moved.setdefault(middleware, []).append(_delta(before, _samples()))
    assert moved[OURS] == moved[DJANGO_PROMETHEUS]
    ours = moved[OURS][0]
    assert ours[("django_http_responses_total_by_status_total", (("status", "409"),))] == 1
    assert (
        ours[
            (
                "django_http_requests_total_by_view_transport_method_total",
                (("method", "POST"), ("transport", "http"), ("view", "booking:hold")),
            )
        ]
        == 2
    )


def test_a_series_is_looked_up_once():
    calls = []

    class Metric:
        def labels(self, **labels):
            calls.append(labels)
            return ("series", tuple(labels.items()))

    middleware, metric = PrometheusAfterMiddleware(lambda request: None), Metric()
    first = middleware.label_metric(metric, None, view="a", method="GET")
    assert middleware.label_metric(metric, None, view="a", method="GET") is first
    assert middleware.label_metric(metric, None, view="b", method="GET") != first
    assert calls == [{"view": "a", "method": "GET"}, {"view": "b", "method": "GET"}]
    assert middleware.label_metric(metric, None) is metric  # no labels: the metric itself
