from django.core.management.base import BaseCommand
from rest_framework_api_key.models import APIKey


class Command(BaseCommand):
    help = "Create an API key for an app, kiosk or partner site; the key is printed once (stored hashed)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="who uses it, e.g. 'lobby kiosk 2'")

    def handle(self, *args, name: str, **options):
        api_key, key = APIKey.objects.create_key(name=name[:50])
        self.stderr.write(
            f"Created API key {api_key.prefix} for {api_key.name!r}; it is shown only this once:"
        )
        self.stdout.write(key)
