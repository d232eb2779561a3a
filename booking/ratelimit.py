"""Abuse limits for the endpoints a bot would hammer: fixed-window counters in the cache.

With Redis configured the counters are shared by every web process; without it they are per
process (development). A limited request gets 429 with Retry-After and changes nothing.

Per-IP limits count an IPv6 client by its /64: one household or host is usually given a whole
/64, so counting single addresses would give it 2**64 fresh allowances.
"""

import functools
import ipaddress
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from booking import buyer

IPV6_CLIENT_PREFIX = 64


def client_ip(request: HttpRequest) -> str:
    """The peer address; behind a proxy, the address the trusted proxy saw (see README)."""
    if settings.TRUSTED_PROXY_COUNT:
        forwarded = [p.strip() for p in request.headers.get("X-Forwarded-For", "").split(",") if p.strip()]
        if len(forwarded) >= settings.TRUSTED_PROXY_COUNT:
            return forwarded[-settings.TRUSTED_PROXY_COUNT]
    return request.META.get("REMOTE_ADDR", "")


def network_of(address: str) -> str:
    """The address a per-IP limit counts: IPv4 as is, IPv6 as the first address of its /64.

    An IPv4-mapped IPv6 address (a dual-stack socket's view of an IPv4 peer) counts as the
    IPv4 address. Anything unparsable becomes "" (no address), never a key of its own.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return ""
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_CLIENT_PREFIX), strict=False).network_address)
    return str(ip)


def client_network(request: HttpRequest) -> str:
    """The client as per-IP limits (and Order.client_ip) see it: see `network_of`."""
    return network_of(client_ip(request))


def login_lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """django-axes' answer to a locked-out login: a page, 429, and when to try again.

    Every refused attempt restarts the cool-off (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT),
    so the whole cool-off is exactly how long to wait.
    """
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    response = render(
        request,
        "registration/locked_out.html",
        {"minutes": max(1, -(-seconds // 60))},
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response


# Every counter of a request in one round trip (Redis): count each key in turn, give a new key
# its expiry, stop at the first one over its limit (so a refused request does not use up the
# next counter). Answers the 1-based position of that key, or 0.
_COUNT_SCRIPT = """
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  if count == 1 then redis.call('EXPIRE', key, tonumber(ARGV[2 * i])) end
  if count > tonumber(ARGV[2 * i - 1]) then return i end
end
return 0
"""
_count_script = None  # redis-py's Script (EVALSHA, loaded again after a server restart)


def _first_over(counters: list[tuple[str, int, int]]) -> int:
    """Count one request on each (key, limit, ttl); the index of the first over its limit, or -1."""
    global _count_script
    client = _redis_client()
    if client is not None:
        if _count_script is None:
            _count_script = client.register_script(_COUNT_SCRIPT)
        keys = [cache.make_and_validate_key(key) for key, _limit, _ttl in counters]
        args = [n for _key, limit, ttl in counters for n in (limit, ttl)]
        return int(_count_script(keys=keys, args=args, client=client)) - 1
    for index, (key, limit, ttl) in enumerate(counters):
        if cache.add(key, 1, timeout=ttl):
            count = 1
        else:
            try:
                count = cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=ttl)
                count = 1
        if count > limit:
            return index
    return -1


def _redis_client():
    """The cache's Redis client (Django's Redis backend), or None for another backend."""
    backend = getattr(cache, "_cache", None)
    return backend.get_client(write=True) if hasattr(backend, "get_client") else None


def _retry_after(counters: list[tuple[str, int, int]], window: int) -> int | None:
    """Count a request on every counter (fixed windows of `window` seconds); seconds to wait
    when one is over its limit, else None."""
    now = int(time.time())
    bucket = now // window
    over = _first_over([(f"rl:{key}:{bucket}", limit, window + 1) for key, limit in counters])
    if over < 0:
        return None
    return (bucket + 1) * window - now or 1


def rate_limited(scope: str):
    """Per-session and per-IP limits from settings.RATE_LIMITS[scope] = (per_session, per_ip, window)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs):
            per_session, per_ip, window = settings.RATE_LIMITS[scope]
            # The buyer identity (booking.buyer: its cookie, else the session), only when counted.
            session_key = (
                buyer.session_token(request) if per_session and hasattr(request, "session") else None
            )
            counters = []
            if per_ip:
                counters.append((f"{scope}:ip:{client_network(request)}", per_ip))
            if per_session and session_key:
                counters.append((f"{scope}:s:{session_key}", per_session))
            retry = _retry_after(counters, window) if counters else None
            if retry is not None:
                response = HttpResponse(
                    _("Too many requests: please wait %(seconds)d seconds.") % {"seconds": retry},
                    status=429,
                    content_type="text/plain; charset=utf-8",
                )
                response["Retry-After"] = str(retry)
                return response
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
