from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts import onboarding, sso
from accounts.connection import check_connection
from accounts.forms import CloudAccountForm, SignupForm
from accounts.models import CloudAccount, Membership, Organization, Profile, Role
from accounts.password_policy import LoginForm


class LoginView(auth_views.LoginView):
    """Django's login with the single sign-on e-mail form and the password-off refusal."""

    authentication_form = LoginForm

    def get_context_data(self, **kwargs):
        return super().get_context_data(**kwargs) | {"sso_offered": bool(sso.providers())}


def signup(request):
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user = form.save()
            organization = Organization.objects.create(name=form.cleaned_data["organization_name"])
            Membership.objects.create(user=user, organization=organization, role=Role.ADMIN)
            Profile.for_user(user)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome! Connect an AWS account to {organization.name}.")
        return redirect("cloud-account-list")
    return render(request, "accounts/signup.html", {"form": form})


@login_required
def cloud_account_list(request):
    accounts = CloudAccount.objects.for_user(request.user).select_related("organization")
    form = CloudAccountForm(request.POST or None, user=request.user)
    can_add = form.fields["organization"].queryset.exists()
    if request.method == "POST":
        if not can_add:
            raise Http404
        if form.is_valid():
            account = form.save()
            messages.success(
                request,
                f"Account {account} added. Create its role with the policy below, then test "
                "the connection.",
            )
            return redirect(account)
    return render(
        request,
        "accounts/cloud_account_list.html",
        {"accounts": accounts, "form": form, "can_add": can_add},
    )


def _account_for(request, pk) -> CloudAccount:
    return get_object_or_404(
        CloudAccount.objects.for_user(request.user).select_related("organization"), pk=pk
    )


@login_required
def cloud_account_detail(request, pk):
    account = _account_for(request, pk)
    role = account.role
    context = {
        "account": account,
        "role": role,
        "trust_policy": onboarding.pretty(onboarding.trust_policy(account)),
        "read_policy": onboarding.pretty(onboarding.read_policy()),
        "platform_principal": onboarding.platform_principal(),
        "can_test": account.organization.user_has_role(request.user, Role.OPERATOR),
        "report": request.session.pop(f"connection-report-{account.pk}", None),
    }
    if role:
        context |= {
            "stop_start_policy": onboarding.pretty(onboarding.stop_start_policy(role.partition)),
            "aws_cli": onboarding.aws_cli_commands(account),
            "cloudformation": onboarding.cloudformation_template(account),
            "terraform": onboarding.terraform_snippet(account),
        }
    return render(request, "accounts/cloud_account_detail.html", context)


@require_POST
@login_required
def cloud_account_test(request, pk):
    account = _account_for(request, pk)
    if not account.organization.user_has_role(request.user, Role.OPERATOR):
        messages.error(request, "Only operators and admins can test a connection.")
        return redirect(account)
    report = check_connection(account)
    if report.ok:
        account.clear_error()
        if all(c.ok for c in report.checks):
            messages.success(
                request, "Connection works: every permission Spendlens needs is there."
            )
        else:
            messages.warning(
                request, "Connection works; some optional permissions are missing (see below)."
            )
    else:
        account.record_error(report.first_error(), timezone.now())
        messages.error(request, "The connection test found problems; see below.")
    request.session[f"connection-report-{account.pk}"] = [
        {"name": c.name, "ok": c.ok, "detail": c.detail, "hint": c.hint, "required": c.required}
        for c in report.checks
    ]
    return redirect(account)
