"""Content-Security-Policy: scripts and styles only from our own origin, no inline code.

htmx is configured not to inject its indicator styles or evaluate anything (the
`htmx-config` meta tag in base.html), and every page script is a static file, so the policy
needs no 'unsafe-inline' and no nonces. Form posts may leave only for Stripe Checkout (or the
development simulator), because the checkout form's answer is a redirect there.

One page is relaxed, and only in its styles: the API's Swagger UI at /api/v1/docs/ carries an
inline <style> block and sets style attributes from its (self-hosted) script. Its own start-up
script is a separate file (drf-spectacular's split view), so scripts stay 'self' there too.
"""

from django.conf import settings

API_DOCS_PATH = "/api/v1/docs/"


def build_policy(*, style_src: str = "'self'") -> str:
    checkout_origin = settings.STRIPE_CHECKOUT_ORIGIN
    directives = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": style_src,
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
        self.docs_policy = build_policy(style_src="'self' 'unsafe-inline'")

    def __call__(self, request):
        response = self.get_response(request)
        # Django's own error pages in DEBUG use inline script; production pages never do.
        if not (settings.DEBUG and response.status_code >= 500):
            policy = self.docs_policy if request.path == API_DOCS_PATH else self.policy
            response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
        return response
