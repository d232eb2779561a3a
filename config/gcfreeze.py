"""The long-lived objects of a server process kept out of the garbage collector's full passes.

A full collection walks every object the process tracks: about 175,000 once Django, the
URLconf, the templates and a hall's geometry are loaded, ~95 ms of one core each time on this
machine, while the GIL stops every thread of the process. The hot path makes such a pass
every few hundred requests (a 3,000-seat map allocates ~10,000 objects), so every few hundred
requests all requests in flight in that process waited a tenth of a second: an average 0.9 ms
of a 3,000-seat map render and 0.3 ms of a 352-seat one, and a tail far worse than that
(docs/benchmarks.md, 2026-12-06 fifth session).

`gc.freeze()` moves what a process holds now into a permanent generation that collections do
not walk: once when the application is loaded (every view imported), and once more after its
first GC_FREEZE_AFTER_REQUESTS requests, when the templates, URL reversals and geometries the
requests load lazily are in memory too. A full pass then walks what is left, ~1 ms. The cost:
a cycle of garbage alive at a freeze is never freed; a young-generation collection first frees
what is in the young generations, and what remains is a few objects, once. Collection stays
on: request garbage with cycles is collected as before.

`GC_FREEZE=0` switches it off (a process then collects as CPython does by default).
"""

import gc
import threading

from django.core.signals import request_finished

from config.env import env_bool, env_int

_lock = threading.Lock()
_requests = 0
_after = 0


def install() -> None:
    """Freeze what the loaded application holds; freeze again after its first requests."""
    global _after, _requests
    if not env_bool("GC_FREEZE", True):
        return
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports every view now, not on the first request
    _freeze()
    _after, _requests = env_int("GC_FREEZE_AFTER_REQUESTS", 200, minimum=0), 0
    if _after:
        request_finished.connect(_count_request, dispatch_uid="gcfreeze")


def _freeze() -> None:
    gc.collect(1)  # the young generations' garbage first: what a freeze keeps is kept for good
    gc.freeze()


def _count_request(**_kwargs) -> None:
    global _requests
    with _lock:
        _requests += 1
        if _requests != _after:
            return
    request_finished.disconnect(dispatch_uid="gcfreeze")
    _freeze()
