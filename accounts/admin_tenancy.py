"""Admin base class that scopes every page to the operator's organisations."""

from django.contrib import admin

from accounts.models import Organization


class TenantScopedAdmin(admin.ModelAdmin):
    """Lists, change pages and foreign-key choices only show the user's organisations' rows.

    A row of another organisation is simply absent from the queryset, so its change page is a
    404-style "doesn't exist" redirect rather than a permission error that confirms it exists.
    """

    list_per_page = 50
    empty_value_display = "—"

    def get_queryset(self, request):
        # The same organisations as TenantQuerySet.for_user(), as a subquery: for_user() joins
        # the memberships and adds a DISTINCT, which PostgreSQL pays for with a sort of the
        # whole result (and a COUNT over a subquery) on every change list.
        return (
            super()
            .get_queryset(request)
            .for_organizations(self.user_organizations(request).values("pk"))
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.related_model
        if hasattr(related.objects, "for_user"):
            kwargs["queryset"] = related.objects.for_user(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def user_organizations(self, request):
        return Organization.objects.for_user(request.user)


class ReadOnlyAdmin(TenantScopedAdmin):
    """Records written by the system: browsable, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
