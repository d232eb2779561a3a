from django.urls import path

from checkout import views

app_name = "checkout"
urlpatterns = [
    path("showtimes/<int:showtime_id>/checkout/", views.checkout_start, name="start"),
    path("bookings/<reference:reference>/return/", views.checkout_return, name="return"),
    path("bookings/<reference:reference>/cancel/", views.checkout_cancel, name="cancel"),
    path("stripe/webhook/", views.stripe_webhook, name="webhook"),
]
