from django.contrib.auth.management import create_permissions
from django.db import migrations


def create_group(apps, schema_editor):
    # Permissions are normally created after all migrations; this one is needed now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Box office")
    group.permissions.add(Permission.objects.get(codename="use_box_office", content_type__app_label="booking"))


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Box office").delete()


class Migration(migrations.Migration):
    dependencies = [("booking", "0002_ledger_append_only"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create_group, remove_group)]
