from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api import views

app_name = "api"
urlpatterns = [
    path("v1/showtimes/", views.showtime_list, name="showtimes"),
    path("v1/showtimes/<int:showtime_id>/seats/", views.showtime_seats, name="seats"),
    path("v1/orders/", views.order_create, name="orders"),
    path("v1/orders/<reference:reference>/", views.order_detail, name="order"),
    path("v1/orders/<reference:reference>/seats/", views.order_seats_add, name="order_seats"),
    path("v1/orders/<reference:reference>/seats/<str:code>/", views.order_seat_release, name="order_seat"),
    path("v1/orders/<reference:reference>/checkout/", views.order_checkout, name="order_checkout"),
    path("v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: no inline script (config/security.py).
    path("v1/docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
]
