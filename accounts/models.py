"""Tenants, members and the AWS accounts they connect.

Tenant scoping lives in one place, TenantQuerySet.for_user(): every view, admin page and API
endpoint that lists or fetches tenant data goes through it, so a user of another organisation
simply never finds the object (404) instead of being refused after the fact.
"""

from __future__ import annotations

import re
import secrets
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse
from django.utils.html import escape
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


def validate_time_zone(name: str) -> None:
    """An IANA time zone name (Europe/Berlin, America/New_York, UTC)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"“{name}” is not a time zone: use an IANA name such as Europe/Berlin or UTC.",
            code="invalid_time_zone",
        ) from None


TIME_ZONE_HELP = "IANA name, e.g. Europe/Berlin: the working week schedules are found in."


class Organization(models.Model):
    tenant_path = ""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    time_zone = models.CharField(
        max_length=64, default="UTC", validators=[validate_time_zone], help_text=TIME_ZONE_HELP
    )
    password_login_enabled = models.BooleanField(
        default=True,
        help_text="Members may sign in with a password. Turn off once single sign-on works: "
        "members of no other organisation then sign in only through it (superusers still can).",
    )
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
        return self.memberships.filter(user=user).values_list("role", flat=True).first()

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


class Weekday(models.IntegerChoices):
    """Numbered as date.weekday() numbers them: Monday is 0."""

    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


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
    weekly_report_enabled = models.BooleanField(
        "weekly report",
        default=True,
        help_text="Receive the weekly cost report of your organisations and followed values.",
    )
    weekly_report_weekday = models.PositiveSmallIntegerField(
        "weekly report day",
        choices=Weekday.choices,
        default=Weekday.MONDAY,
        help_text="The day of the week (in the organisation's time zone) it arrives.",
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
PARTITIONS = ("aws", "aws-cn", "aws-us-gov")
# IAM's grammar for a role ARN: the optional path is /segment/.../ and the name comes last.
# re.ASCII because IAM admits only ASCII letters and digits where Python's \w takes any letter.
ROLE_ARN_RE = re.compile(
    rf"^arn:(?P<partition>{'|'.join(PARTITIONS)}):iam::(?P<account>\d{{12}}):role"
    r"(?P<path>/(?:[\w+=,.@-]+/)*)(?P<name>[\w+=,.@-]+)$",
    re.ASCII,
)
ROLE_ARN_HELP = "arn:aws:iam::<account ID>:role/<name> of the role Spendlens assumes."
ROLE_NAME_MAX_LENGTH = 64
ROLE_PATH_MAX_LENGTH = 512


class RoleArn(NamedTuple):
    """A role ARN's parts: the snippets must create a role with exactly this path and name."""

    partition: str
    account: str
    path: str
    name: str

    @classmethod
    def parse(cls, arn: str) -> RoleArn | None:
        match = ROLE_ARN_RE.match(arn or "")
        return cls(**match.groupdict()) if match else None


def partition_of(arn: str) -> str | None:
    parts = (arn or "").split(":")
    return parts[1] if len(parts) > 1 and parts[0] == "arn" else None


@lru_cache(maxsize=len(PARTITIONS))
def aws_regions(partition: str = "aws") -> frozenset[str]:
    """A partition's AWS regions, from the endpoint data that ships with botocore (no API call)."""
    import boto3

    return frozenset(boto3.session.Session().get_available_regions("ec2", partition_name=partition))


def generate_external_id() -> str:
    # 256 bits from the OS CSPRNG; URL-safe characters are all valid in an sts:ExternalId.
    return secrets.token_urlsafe(32)


class CloudAccount(models.Model):
    tenant_path = "organization"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="cloud_accounts"
    )
    name = models.CharField(max_length=120, blank=True)
    # Checked in clean() only: a validator here too made forms show the same error twice.
    account_id = models.CharField("AWS account ID", max_length=12)
    role_arn = models.CharField(
        "role ARN",
        max_length=600,
        # Escaped because Django renders help_text as HTML (the admin always does): raw,
        # <account ID> and <name> were swallowed as tags.
        help_text=escape(ROLE_ARN_HELP),
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
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text="Empty: the organisation's. " + TIME_ZONE_HELP,
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
        role = RoleArn.parse(self.role_arn)
        role_error = self._role_error(role, account_id if "account_id" not in errors else None)
        if role_error:
            errors["role_arn"] = [role_error]
        region_errors = self._region_errors(role.partition if role else "aws")
        if region_errors:
            errors["regions"] = region_errors
        if errors:
            raise ValidationError(errors)

    @property
    def role(self) -> RoleArn | None:
        return RoleArn.parse(self.role_arn)

    @property
    def effective_time_zone(self) -> str:
        return self.time_zone or self.organization.time_zone

    @staticmethod
    def _role_error(role: RoleArn | None, account_id: str | None) -> str | None:
        if role is None:
            return "Enter an IAM role ARN like arn:aws:iam::123456789012:role/SpendlensAccess."
        if len(role.name) > ROLE_NAME_MAX_LENGTH:
            return (
                f"An IAM role name has at most {ROLE_NAME_MAX_LENGTH} characters; "
                f"this has {len(role.name)}."
            )
        if len(role.path) > ROLE_PATH_MAX_LENGTH:
            return f"An IAM path has at most {ROLE_PATH_MAX_LENGTH} characters."
        if account_id and role.account != account_id:
            return (
                f"This role belongs to account {role.account}, not {account_id}: "
                "the role must live in the account it reads."
            )
        platform = partition_of(settings.PLATFORM_ROLE_ARN)
        if platform and role.partition != platform:
            return (
                f"This role is in the {role.partition} partition but Spendlens runs in "
                f"{platform}: AWS does not let a role be assumed from another partition."
            )
        return None

    def _region_errors(self, partition: str) -> list[str]:
        if self.regions is None:  # an empty JSON field in the admin
            self.regions = []
        if isinstance(self.regions, str):
            self.regions = [r.strip() for r in self.regions.split(",") if r.strip()]
        if not isinstance(self.regions, list) or not all(isinstance(r, str) for r in self.regions):
            return ["Regions must be a list of region names."]
        self.regions = list(dict.fromkeys(r.strip() for r in self.regions if r.strip()))
        if not self.regions:
            return ["Choose at least one region, e.g. us-east-1."]
        unknown = [r for r in self.regions if r not in aws_regions(partition)]
        if unknown:
            where = "" if partition == "aws" else f" in the {partition} partition"
            return [f"Unknown AWS region{where}: {', '.join(unknown)}."]
        return []

    def record_success(self, when):
        self.clear_error()
        self.last_synced_at = when
        type(self).objects.filter(pk=self.pk).update(last_synced_at=when)

    def clear_error(self, prefix: str = ""):
        """Clear the last error; with PREFIX, only an error that pipeline recorded.

        One last_error serves every pipeline: an inventory that works says nothing about a
        failing cost sync, and clearing every error on any success would hide it for hours.
        """
        cleared = (
            type(self)
            .objects.filter(pk=self.pk, last_error__startswith=prefix)
            .update(last_error="", last_error_at=None)
        )
        if cleared:
            self.last_error, self.last_error_at = "", None

    def record_error(self, message: str, when):
        self.last_error = message[:2000]
        self.last_error_at = when
        type(self).objects.filter(pk=self.pk).update(last_error=self.last_error, last_error_at=when)


def validate_group_roles(value) -> None:
    if not isinstance(value, dict) or not all(
        isinstance(group, str) and role in Role.values for group, role in value.items()
    ):
        raise ValidationError(
            'Map group names to roles, e.g. {"finops-admins": "admin", "finops": "operator"}; '
            f"roles are {', '.join(Role.values)}.",
            code="invalid_group_roles",
        )


def validate_email_domains(value) -> None:
    if not isinstance(value, list) or not all(
        isinstance(d, str) and re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", d) for d in value
    ):
        raise ValidationError(
            'List lower-case domains, e.g. ["example.com", "example.co.uk"].',
            code="invalid_email_domains",
        )


class SingleSignOn(models.Model):
    """One OpenID Connect provider an organisation signs in with (accounts/sso.py uses it).

    Membership comes from the ID token: a group in `group_roles` gives that role (the highest
    wins); otherwise an address in `email_domains` gives `domain_role` (if set); otherwise nobody
    is let in. The login page finds the provider by those domains too. The secret is never
    shown again once saved (the admin form is write-only).
    """

    tenant_path = "organization"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="single_sign_ons"
    )
    slug = models.SlugField(
        max_length=60,
        unique=True,
        help_text="Names the provider in linked accounts (changing it unlinks them); never shown.",
    )
    name = models.CharField(
        max_length=80, help_text="Shown to people: “Your organisation signs in with <name>”."
    )
    enabled = models.BooleanField(default=True)
    issuer = models.URLField(
        help_text="The issuer URL; /.well-known/openid-configuration below it is read.",
    )
    client_id = models.CharField(max_length=255)
    client_secret = models.CharField(max_length=512, blank=True)
    scopes = models.CharField(max_length=255, default="openid profile email")
    groups_claim = models.CharField(
        max_length=80, default="groups", help_text="The ID token or userinfo claim with groups."
    )
    group_roles = models.JSONField(
        default=dict,
        blank=True,
        validators=[validate_group_roles],
        help_text='Group → role, e.g. {"finops-admins": "admin", "finops": "operator"}.',
    )
    email_domains = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_email_domains],
        help_text='The login page sends addresses of these domains here, e.g. ["example.com"]; '
        "with a domain role, they also come in without a group.",
    )
    domain_role = models.CharField(
        max_length=10,
        choices=Role.choices,
        default=Role.VIEWER,
        blank=True,
        help_text="The role of people let in by their e-mail domain alone; empty: a group is "
        "needed.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["organization__name", "name"]
        verbose_name = "single sign-on provider"

    def __str__(self):
        return f"{self.name} ({self.organization})"

    def clean(self):
        # The login page finds the provider by the e-mail domain: a domain claimed by two
        # providers would be ambiguous, and a second organisation could claim someone else's.
        claimed = {
            domain
            for other in SingleSignOn.objects.exclude(pk=self.pk).only("email_domains")
            for domain in other.email_domains
        }
        taken = sorted(claimed & set(self.email_domains or []))
        if taken:
            raise ValidationError(
                {"email_domains": f"Already used by another provider: {', '.join(taken)}."}
            )


class ApiRateBucket(models.Model):
    """One token bucket of accounts/ratelimit.py: the AWS API calls every worker process shares.

    Not tenant data: KEY names an API family and the AWS account (or the platform) it is
    throttled under, nothing a customer sees. Times are the database's clock in epoch seconds,
    so workers on hosts whose clocks disagree still share one timeline.
    """

    key = models.CharField(max_length=200, primary_key=True)
    # Negative while callers wait: each reservation takes one token, even one not yet refilled.
    tokens = models.FloatField()
    updated_at = models.FloatField()

    class Meta:
        verbose_name = "AWS API rate bucket"

    def __str__(self):
        return self.key


class FanOutRun(models.Model):
    """One account's share of one fan-out (accounts/fanout.py): the claim that makes a task
    delivered twice, or redelivered after its worker died, run its work once to success."""

    tenant_path = "account__organization"

    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    account = models.ForeignKey(CloudAccount, on_delete=models.CASCADE, related_name="fan_out_runs")
    task = models.CharField(max_length=200, help_text="The dotted path of the work.")
    slot = models.CharField(
        max_length=40, help_text="The fan-out it belongs to (when it was queued)."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    attempts = models.PositiveIntegerField(default=1)
    worker = models.CharField(max_length=200, blank=True, help_text="host:pid of the last taker.")
    started_at = models.DateTimeField()
    lease_until = models.DateTimeField(
        help_text="A running claim older than this belongs to a dead worker and is taken over."
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.TextField(blank=True)
    error = models.TextField(blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "task", "slot"], name="one_fan_out_run_per_slot"
            ),
        ]
        indexes = [models.Index(fields=["task", "slot"], name="fanoutrun_task_slot")]

    def __str__(self):
        return f"{self.task} of {self.account} ({self.slot})"
