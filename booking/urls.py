from django.urls import path

from booking.views import metrics, public

app_name = "booking"
urlpatterns = [
    # A sale's traffic first (config/urls.py): polls, holds, releases.
    path("showtimes/<int:showtime_id>/seats/", public.seat_map, name="seat_map"),
    path("showtimes/<int:showtime_id>/hold/", public.hold, name="hold"),
    path("showtimes/<int:showtime_id>/release/", public.release, name="release"),
    path("showtimes/<int:showtime_id>/", public.showtime_detail, name="showtime"),
    path("", public.now_showing, name="home"),
    path("bookings/<reference:reference>/", public.booking_detail, name="booking"),
    path("bookings/<reference:reference>/tickets.pdf", public.booking_pdf, name="booking_pdf"),
    path("bookings/<reference:reference>/calendar.ics", public.booking_calendar, name="booking_calendar"),
    path("metrics", metrics.metrics, name="metrics"),
]
