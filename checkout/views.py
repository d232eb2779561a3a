"""Checkout and the Stripe webhook (being built: issue 6)."""

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST


@require_POST
def checkout_start(request, showtime_id: int):
    return HttpResponse("Payment is not wired yet.", status=501)


@csrf_exempt  # Stripe cannot send a CSRF token; the signature check authenticates it.
@require_POST
def stripe_webhook(request):
    return HttpResponse(status=501)
