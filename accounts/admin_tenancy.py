"""Admin base class that scopes every page to the operator's organisations."""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.forms.models import BaseInlineFormSet

from accounts.models import Membership, Organization, Role


def colleagues(user):
    """The users who share an organisation with USER; everyone, for a superuser.

    People are tenant data too (issue 11): a form, an autocomplete or the users page that
    offered every user of the installation would list another organisation's members.
    """
    users = get_user_model().objects.all()
    if user.is_superuser:
        return users
    organizations = Organization.objects.for_user(user).values("pk")
    return users.filter(
        pk__in=Membership.objects.filter(organization__in=organizations).values("user")
    )


def scoped_choices(db_field, request):
    """The rows a foreign key may point at for REQUEST's user, or None if not a tenant's."""
    related = db_field.related_model
    if related is get_user_model():
        return colleagues(request.user)
    if hasattr(related.objects, "for_user"):
        return related.objects.for_user(request.user)
    return None


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
        choices = scoped_choices(db_field, request)
        if choices is not None:
            kwargs["queryset"] = choices
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def user_organizations(self, request):
        return Organization.objects.for_user(request.user)


class TenantScopedInlineFormSet(BaseInlineFormSet):
    """Django checks an inline row's hidden primary key against the whole table: a key of
    another organisation's row passes where a made-up one is "not a valid choice", which
    confirms that the row exists (issue 11). Only the parent's own rows are valid keys here."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        key = form.fields.get(self._pk_field.name)
        if isinstance(key, forms.ModelChoiceField):
            key.queryset = self.get_queryset()


class TenantScopedInline:
    """Mixin for inlines: the same foreign-key choices as TenantScopedAdmin, scoped row keys."""

    formset = TenantScopedInlineFormSet

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        choices = scoped_choices(db_field, request)
        if choices is not None:
            kwargs["queryset"] = choices
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ReadOnlyAdmin(TenantScopedAdmin):
    """Records written by the system: browsable, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class OrganizationAdminsWriteAdmin(TenantScopedAdmin):
    """Rows only the organisation's admins add, change or delete (a chat channel's URL, a
    sign-in provider): other staff get the read-only page, and the organisation choice lists
    only the organisations the user administers."""

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or obj.organization.user_has_role(request.user, Role.ADMIN))

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or obj.organization.user_has_role(request.user, Role.ADMIN))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "organization":
            field.queryset = field.queryset.filter(
                pk__in=[o.pk for o in field.queryset if o.user_has_role(request.user, Role.ADMIN)]
            )
        return field
