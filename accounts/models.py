"""Tenants, members and the AWS accounts they connect.

Tenant scoping lives in one place, TenantQuerySet.for_user(): every view, admin page and API
endpoint that lists or fetches tenant data goes through it, so a user of another organisation
simply never finds the object (404) instead of being refused after the fact.
"""

from __future__ import annotations

import re
import secrets
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse
from django.utils.text import slugify


class TenantQuerySet(models.QuerySet):
    """QuerySet of tenant-owned rows; `tenant_path` names the lookup to the Organization."""

    def for_user(self, user):
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        # Superusers operate the installation itself and see every organisation.
        if user.is_superuser:
            return self.all()
        path = self.model.tenant_path
        prefix = f"{path}__" if path else ""
        return self.filter(**{f"{prefix}memberships__user": user}).distinct()

    def for_organizations(self, organizations):
        path = self.model.tenant_path
        return self.filter(**{f"{path}__in" if path else "pk__in": organizations})


class Organization(models.Model):
    tenant_path = ""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = unique_slug(self.name)
        super().save(*args, **kwargs)

    def role_of(self, user) -> str | None:
        if not getattr(user, "is_authenticated", False):
            return None
        if user.is_superuser:
            return Role.ADMIN
        membership = self.memberships.filter(user=user).only("role").first()
        return membership.role if membership else None

    def user_has_role(self, user, minimum: str) -> bool:
        role = self.role_of(user)
        return role is not None and Role.rank(role) >= Role.rank(minimum)


def unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "org"
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer (read only)"
    OPERATOR = "operator", "Operator (can stop and start instances)"
    ADMIN = "admin", "Admin (manages accounts and members)"

    @classmethod
    def rank(cls, role: str) -> int:
        return [cls.VIEWER, cls.OPERATOR, cls.ADMIN].index(role)


class Membership(models.Model):
    tenant_path = "organization"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="unique_membership"),
        ]
        ordering = ["organization__name", "user__username"]

    def __str__(self):
        return f"{self.user} in {self.organization} ({self.role})"


class Profile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    alert_email = models.EmailField(
        blank=True, help_text="Where alerts go; empty means the account's e-mail address."
    )
    email_enabled = models.BooleanField(default=True, help_text="Receive alert e-mails at all.")
    cooldown_minutes = models.PositiveIntegerField(
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(7 * 24 * 60)],
        help_text="Minimum minutes between two alerts of the same kind about the same subject.",
    )
    muted_alert_kinds = models.JSONField(
        default=list, blank=True, help_text="Alert kinds this user receives no e-mail for."
    )

    def __str__(self):
        return f"Profile of {self.user}"

    @property
    def delivery_address(self) -> str:
        return self.alert_email or self.user.email

    @classmethod
    def for_user(cls, user) -> Profile:
        profile, _ = cls.objects.get_or_create(user=user)
        return profile


ACCOUNT_ID_VALIDATOR = RegexValidator(
    r"^\d{12}$", "An AWS account ID is exactly 12 digits, e.g. 123456789012."
)
ROLE_ARN_RE = re.compile(r"^arn:aws:iam::(?P<account>\d{12}):role/(?P<name>[\w+=,.@/-]{1,512})$")


@lru_cache(maxsize=1)
def aws_regions() -> frozenset[str]:
    """Commercial AWS regions, from the endpoint data that ships with botocore (no API call)."""
    import boto3

    return frozenset(boto3.session.Session().get_available_regions("ec2"))


def generate_external_id() -> str:
    # 256 bits from the OS CSPRNG; URL-safe characters are all valid in an sts:ExternalId.
    return secrets.token_urlsafe(32)


class CloudAccount(models.Model):
    tenant_path = "organization"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="cloud_accounts"
    )
    name = models.CharField(max_length=120, blank=True)
    account_id = models.CharField(
        "AWS account ID", max_length=12, validators=[ACCOUNT_ID_VALIDATOR]
    )
    role_arn = models.CharField(
        "role ARN",
        max_length=600,
        help_text="arn:aws:iam::<account ID>:role/<name> of the role Spendlens assumes.",
    )
    external_id = models.CharField(
        "ExternalId",
        max_length=64,
        unique=True,
        default=generate_external_id,
        editable=False,
        help_text="Generated by Spendlens; put it in the role's trust policy condition.",
    )
    regions = models.JSONField(
        default=list,
        blank=True,  # clean() explains what is missing better than "cannot be blank"
        help_text="Regions to inventory, e.g. us-east-1, eu-west-1.",
    )
    is_active = models.BooleanField("active", default=True)
    is_management = models.BooleanField(
        "management account",
        default=False,
        help_text="An AWS Organizations management (payer) account: its costs are synced per "
        "linked account and service.",
    )
    last_synced_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    last_error_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "account_id"], name="unique_account_per_organization"
            ),
        ]
        ordering = ["organization__name", "name", "account_id"]

    def __str__(self):
        return f"{self.name} ({self.account_id})" if self.name else self.account_id

    def save(self, *args, **kwargs):
        if self.pk:
            stored = type(self).objects.filter(pk=self.pk).values_list("external_id", flat=True)
            if stored and stored[0] != self.external_id:
                raise ValidationError("The ExternalId of an account cannot be changed.")
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("cloud-account-detail", args=[self.pk])

    def clean(self):
        errors = {}
        account_id = (self.account_id or "").strip()
        self.account_id = account_id
        try:
            ACCOUNT_ID_VALIDATOR(account_id)
        except ValidationError as exc:
            errors["account_id"] = exc.messages
        self.role_arn = (self.role_arn or "").strip()
        match = ROLE_ARN_RE.match(self.role_arn)
        if not match:
            errors["role_arn"] = [
                "Enter an IAM role ARN like arn:aws:iam::123456789012:role/SpendlensAccess."
            ]
        elif "account_id" not in errors and match["account"] != account_id:
            errors["role_arn"] = [
                f"This role belongs to account {match['account']}, not {account_id}: "
                "the role must live in the account it reads."
            ]
        region_errors = self._region_errors()
        if region_errors:
            errors["regions"] = region_errors
        if errors:
            raise ValidationError(errors)

    def _region_errors(self) -> list[str]:
        if isinstance(self.regions, str):
            self.regions = [r.strip() for r in self.regions.split(",") if r.strip()]
        if not isinstance(self.regions, list) or not all(isinstance(r, str) for r in self.regions):
            return ["Regions must be a list of region names."]
        self.regions = list(dict.fromkeys(r.strip() for r in self.regions if r.strip()))
        if not self.regions:
            return ["Choose at least one region, e.g. us-east-1."]
        unknown = [r for r in self.regions if r not in aws_regions()]
        if unknown:
            return [f"Unknown AWS region: {', '.join(unknown)}."]
        return []

    def record_success(self, when):
        self.clear_error()
        self.last_synced_at = when
        type(self).objects.filter(pk=self.pk).update(last_synced_at=when)

    def clear_error(self):
        self.last_error, self.last_error_at = "", None
        type(self).objects.filter(pk=self.pk).update(last_error="", last_error_at=None)

    def record_error(self, message: str, when):
        self.last_error = message[:2000]
        self.last_error_at = when
        type(self).objects.filter(pk=self.pk).update(last_error=self.last_error, last_error_at=when)
