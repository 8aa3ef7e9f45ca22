from django.core.management.base import CommandError

from accounts.models import Organization


def organizations(slug: str | None):
    """Every organisation, or the one named by --org (a clear error if there is none)."""
    selected = Organization.objects.all()
    if slug:
        selected = selected.filter(slug=slug)
        if not selected.exists():
            raise CommandError(f"No organisation with slug {slug!r}.")
    return selected
