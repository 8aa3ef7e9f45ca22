"""The profile page: memberships, alert preferences, followed values and API tokens."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from knox.models import AuthToken

from accounts.models import Membership, Profile
from alerts.forms import ProfileForm
from allocation.models import Dimension, FollowedValue
from dashboard.allocation_card import followed_values, value_choices


class FollowForm(forms.Form):
    value = forms.ChoiceField(
        label="Follow", help_text="Your dashboard opens on the value you follow."
    )

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["value"].choices = value_choices(user, timezone.localdate())


@login_required
def profile(request):
    profile = Profile.for_user(request.user)
    form = ProfileForm(request.POST or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Profile saved.")
        return redirect("profile")
    memberships = Membership.objects.filter(user=request.user).select_related("organization")
    tokens = AuthToken.objects.filter(user=request.user).order_by("-created")
    context = {
        "form": form,
        "memberships": memberships,
        "tokens": tokens,
        "follow_form": FollowForm(request.user),
        "followed": followed_values(request.user),
    }
    return render(request, "dashboard/profile.html", context)


@login_required
@require_POST
def follow(request):
    form = FollowForm(request.user, request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the values listed.")
        return redirect(reverse("profile") + "#following")
    # The choices are the user's organisations' values: the dimension is theirs.
    pk, value = form.cleaned_data["value"].split(":", 1)
    dimension = Dimension.objects.for_user(request.user).get(pk=pk)
    FollowedValue.objects.get_or_create(user=request.user, dimension=dimension, value=value)
    messages.success(request, f"Following {dimension.name} = {value}.")
    return redirect(reverse("profile") + "#following")


@login_required
@require_POST
def unfollow(request, pk):
    deleted, _ = FollowedValue.objects.filter(user=request.user, pk=pk).delete()
    if not deleted:
        raise Http404
    messages.success(request, "No longer following that value.")
    return redirect(reverse("profile") + "#following")


@login_required
@require_POST
def token_create(request):
    _, key = AuthToken.objects.create(user=request.user)
    # Shown once: only the hash is stored.
    messages.success(request, f"New API token (copy it now, it is not shown again): {key}")
    return redirect(reverse("profile") + "#tokens")


@login_required
@require_POST
def token_revoke(request, token_key):
    deleted, _ = AuthToken.objects.filter(user=request.user, token_key=token_key).delete()
    if not deleted:
        raise Http404
    messages.success(request, "API token revoked.")
    return redirect(reverse("profile") + "#tokens")
