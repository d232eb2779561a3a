from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import render
from django.views.decorators.http import require_GET


@require_GET
@login_required
@permission_required("booking.use_box_office", raise_exception=True)
def dashboard(request):
    return render(request, "booking/box_office/dashboard.html", {})
