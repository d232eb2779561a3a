"""API keys themselves are managed in djangorestframework-api-key's admin (API Key Permissions)."""

from django.contrib import admin

from api.models import ApiOrder, IdempotencyRecord


@admin.register(ApiOrder)
class ApiOrderAdmin(admin.ModelAdmin):
    list_display = ["order", "api_key", "created_at"]
    list_select_related = ["order", "api_key"]
    search_fields = ["order__reference", "api_key__name", "api_key__prefix"]
    readonly_fields = ["order", "api_key", "created_at"]


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ["key", "api_key", "status_code", "started_at"]
    list_select_related = ["api_key"]
    readonly_fields = ["api_key", "key", "fingerprint", "started_at", "status_code", "body"]
