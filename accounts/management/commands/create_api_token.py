from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from knox.models import AuthToken


class Command(BaseCommand):
    help = (
        "Create an API token for USERNAME and print it (shown once: only its hash is stored). "
        "Use it as 'Authorization: Token <key>'."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
        if not user.is_active:
            raise CommandError(f"User {username!r} is inactive.")
        token, key = AuthToken.objects.create(user=user)
        expiry = token.expiry.isoformat(timespec="minutes") if token.expiry else "never"
        self.stderr.write(f"Token for {username} (expires {expiry}):")
        self.stdout.write(key)
