from django.contrib import admin

from booking import services
from booking.models import Film, LedgerEntry, Order, ShowSeat, Showtime, Ticket


@admin.register(Film)
class FilmAdmin(admin.ModelAdmin):
    list_display = ["title", "runtime_minutes", "rating"]
    prepopulated_fields = {"slug": ["title"]}
    search_fields = ["title"]


@admin.register(Showtime)
class ShowtimeAdmin(admin.ModelAdmin):
    list_display = ["film", "hall", "starts_at", "currency"]
    list_filter = ["hall", "film"]
    date_hierarchy = "starts_at"

    def save_model(self, request, obj, form, change):
        # The inventory is created with the showtime; seat rows are never edited here.
        super().save_model(request, obj, form, change)
        services.showtime_create_inventory(showtime=obj)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Seat state changes only through booking/services.py, so the admin only looks."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ShowSeat)
class ShowSeatAdmin(ReadOnlyAdmin):
    list_display = ["showtime", "code", "zone", "status", "order", "held_until"]
    list_filter = ["status"]
    search_fields = ["code", "order__reference"]


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ["reference", "showtime", "status", "channel", "total", "email", "created_at"]
    list_filter = ["status", "channel"]
    search_fields = ["reference", "email", "name"]


@admin.register(Ticket)
class TicketAdmin(ReadOnlyAdmin):
    list_display = ["code", "showtime", "seat_code", "status", "checked_in_at"]
    list_filter = ["status"]
    search_fields = ["code", "order__reference"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor", "action", "showtime", "order", "seats", "reason"]
    list_filter = ["action"]
    search_fields = ["actor", "order__reference"]
