from django.conf import settings


def seatlock(request):
    return {"CURRENCY": settings.CURRENCY}
