from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from scheduler.models import Account, Domain, OutgoingEmail, User


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "sales_tier", "service_tier", "created_at"]
    list_filter = ["sales_tier", "service_tier"]
    search_fields = ["name"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "account", "role", "personal_email_access", "seat", "is_staff"]
    list_filter = ["role", "personal_email_access", "seat", "is_staff"]
    search_fields = ["email", "full_name", "account__name"]
    autocomplete_fields = ["account"]
    fieldsets = [
        (None, {"fields": ["email", "password", "full_name", "account", "timezone"]}),
        ("Access", {"fields": ["role", "personal_email_access", "seat"]}),
        (
            "Staff",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "account", "password1", "password2"]})
    ]


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ["hostname", "account", "status", "verified", "last_checked_at"]
    list_filter = ["status", "verified"]
    readonly_fields = ["verification_token", "last_checked_at", "verified_at", "failing_since"]
    search_fields = ["hostname", "account__name"]


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(admin.ModelAdmin):
    """Where an operator sees what mail went out, what is waiting and why some failed."""

    list_display = ["subject", "to", "kind", "state", "attempts", "next_attempt_at", "created_at"]
    list_filter = ["state", "kind"]
    search_fields = ["to", "subject"]
    readonly_fields = ["lease_owner", "lease_until", "last_error", "sent_at", "attempts"]
    exclude = ["attachments"]
