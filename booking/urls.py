from django.urls import path

from booking.views import public

app_name = "booking"
urlpatterns = [
    path("", public.now_showing, name="home"),
    path("showtimes/<int:showtime_id>/", public.showtime_detail, name="showtime"),
    path("bookings/<str:reference>/", public.booking_detail, name="booking"),
]
