"""Organisation and account filters whose choices come from the user's tenancy, not the rows.

Django's RelatedOnlyFieldListFilter builds its choices with a DISTINCT over the listed table;
these read the (small) organisation and account tables instead, scoped like everything else.
A value that is not one of the user's choices is ignored rather than filtered on.
"""

from django.contrib import admin

from accounts.models import CloudAccount, Organization


class TenantChoiceFilter(admin.SimpleListFilter):
    field_path = ""  # the lookup from the listed model, e.g. "account__organization"

    def choices_for(self, request):
        raise NotImplementedError

    def lookups(self, request, model_admin):
        return [(str(obj.pk), str(obj)) for obj in self.choices_for(request)]

    def queryset(self, request, queryset):
        chosen = self.value()
        if chosen is None or chosen not in {key for key, _ in self.lookup_choices}:
            return queryset
        return queryset.filter(**{self.field_path: chosen})


class OrganizationFilter(TenantChoiceFilter):
    title = "organisation"
    parameter_name = "organization"
    field_path = "organization"

    def choices_for(self, request):
        return Organization.objects.for_user(request.user)

    def has_output(self):
        return len(self.lookup_choices) > 1  # a member of one organisation has nothing to pick


class AccountOrganizationFilter(OrganizationFilter):
    field_path = "account__organization"


class AccountFilter(TenantChoiceFilter):
    title = "AWS account"
    parameter_name = "account"
    field_path = "account"

    def choices_for(self, request):
        return CloudAccount.objects.for_user(request.user)


class InstanceAccountFilter(AccountFilter):
    field_path = "instance__account"
