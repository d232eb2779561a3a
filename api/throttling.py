"""Rate limits: reads without a key per client network (IPv6 by /64), everything else per key.

settings.API_RATE_LIMITS is read on each request (tests and operators change it without a
restart of the class); 0 switches a limit off. The counters live in the cache, so with Redis
they are shared by every worker.
"""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle
from rest_framework_api_key.models import APIKey

from booking.ratelimit import client_network


class ApiRateThrottle(SimpleRateThrottle):
    scope = "api"

    def __init__(self):
        pass  # the rate depends on the request: see allow_request

    def allow_request(self, request, view) -> bool:
        limits = settings.API_RATE_LIMITS
        by_key = isinstance(request.auth, APIKey)
        self.num_requests = limits["key"] if by_key else limits["ip"]
        self.duration = limits["window"]
        if not self.num_requests:
            return True
        self.rate = f"{self.num_requests}/{self.duration}s"
        return super().allow_request(request, view)

    def get_cache_key(self, request, view) -> str:
        if isinstance(request.auth, APIKey):
            return f"api-rl:key:{request.auth.prefix}"
        return f"api-rl:ip:{client_network(request)}"
