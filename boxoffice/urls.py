from django.urls import path

from boxoffice import views as box_office

app_name = "box_office"
urlpatterns = [
    path("", box_office.dashboard, name="dashboard"),
    path("showtimes/<int:showtime_id>/", box_office.showtime_seats, name="showtime"),
    path("showtimes/<int:showtime_id>/seats/", box_office.seat_action, name="seat_action"),
    path("showtimes/<int:showtime_id>/sell/", box_office.sell, name="sell"),
    path("orders/<reference:reference>/tickets/", box_office.tickets, name="tickets"),
    path("bookings/", box_office.bookings, name="bookings"),
    path("bookings/<reference:reference>/", box_office.booking, name="booking"),
    path("bookings/<reference:reference>/cancel/", box_office.cancel, name="cancel"),
    path("bookings/<reference:reference>/reseat/", box_office.reseat, name="reseat"),
    path("check-in/", box_office.check_in, name="check_in"),
    path("report/", box_office.report, name="report"),
    path("report/csv/", box_office.report_download, name="report_csv"),
]
