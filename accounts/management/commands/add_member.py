from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Membership, Organization, Profile, Role


class Command(BaseCommand):
    help = "Add a user (created if missing) to an organisation with a role."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="Organisation slug (created if missing).")
        parser.add_argument("--username", required=True)
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--password", help="Set this password (new or existing user).")
        parser.add_argument("--email", default="")

    def handle(self, *args, org, username, role, password, email, **options):
        organization, _ = Organization.objects.get_or_create(slug=org, defaults={"name": org})
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"email": email}
        )
        if password:
            try:
                validate_password(password, user)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from exc
            user.set_password(password)
            user.save()
        elif created:
            user.set_unusable_password()
            user.save()
        Profile.for_user(user)
        Membership.objects.update_or_create(
            user=user, organization=organization, defaults={"role": role}
        )
        status = "Created" if created else "Existing"
        self.stdout.write(f"{status} user {username} is {role} of {organization.slug}.")
