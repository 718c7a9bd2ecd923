import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create the first operator account (superuser 'admin') if no user exists. The password comes "
        "from SEMROUTE_ADMIN_PASSWORD or is generated and printed once."
    )

    def handle(self, *args, **options):
        users = get_user_model()
        if users.objects.exists():
            self.stdout.write("Operator account already exists; nothing to do.")
            return
        password = os.environ.get("SEMROUTE_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        users.objects.create_superuser(username="admin", email="", password=password)
        if os.environ.get("SEMROUTE_ADMIN_PASSWORD"):
            self.stdout.write(
                "Created operator 'admin' with the password from SEMROUTE_ADMIN_PASSWORD."
            )
        else:
            self.stdout.write(
                self.style.WARNING(
                    f"Created operator 'admin' with password: {password}\n(shown once; change it in the admin)"
                )
            )
