"""Content-Security-Policy: scripts and styles only from our own origin, no inline code.

htmx is configured not to inject its indicator styles or evaluate anything (the
`htmx-config` meta tag in base.html), and every page script is a static file, so the policy
needs no 'unsafe-inline' and no nonces. Form posts may leave only for Stripe Checkout (or the
development simulator), because the checkout form's answer is a redirect there.
"""

from django.conf import settings


def build_policy() -> str:
    checkout_origin = settings.STRIPE_CHECKOUT_ORIGIN
    directives = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "font-src": "'self'",
        "connect-src": "'self'",
        "form-action": f"'self' {checkout_origin}".strip(),
        "frame-ancestors": "'none'",
        "base-uri": "'self'",
        "object-src": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = build_policy()

    def __call__(self, request):
        response = self.get_response(request)
        # Django's own error pages in DEBUG use inline script; production pages never do.
        if not (settings.DEBUG and response.status_code >= 500):
            response.headers.setdefault("Content-Security-Policy", self.policy)
        response.headers.setdefault("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
        return response
