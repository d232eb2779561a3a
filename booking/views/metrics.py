"""`GET /metrics`: Prometheus' text format, for the monitoring system only.

It answers allowed addresses (METRICS_ALLOWED_IPS, the client as SeatLock's per-IP limits see
it, so behind TRUSTED_PROXY_COUNT proxies the real client) or a request carrying the bearer
token (METRICS_TOKEN). Anyone else gets the site's ordinary 404: the endpoint does not say
that it exists.
"""

import hmac
import ipaddress

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_prometheus.exports import ExportToDjangoView

from booking.ratelimit import client_ip


def _address_allowed(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # a dual-stack socket's view of an IPv4 peer
    return any(ip in ipaddress.ip_network(net, strict=False) for net in settings.METRICS_ALLOWED_IPS)


def _token_valid(request: HttpRequest) -> bool:
    expected = settings.METRICS_TOKEN
    scheme, _sep, given = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), expected.encode())


@require_GET
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    if not (_address_allowed(client_ip(request)) or _token_valid(request)):
        raise Http404
    # django-prometheus' exporter: in multiprocess mode (PROMETHEUS_MULTIPROC_DIR) it merges
    # every worker's samples, otherwise it serves this process' registry.
    return ExportToDjangoView(request)
