from django.urls import path

from booking.views import box_office

app_name = "box_office"
urlpatterns = [
    path("", box_office.dashboard, name="dashboard"),
]
