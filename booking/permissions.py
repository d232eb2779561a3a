"""The box-office group: created by migration 0003; this re-creates it when it is missing
(a test database flushed between transactional tests, a hand-deleted group)."""

from django.contrib.auth.models import Group, Permission

BOX_OFFICE_GROUP = "Box office"


def box_office_group() -> Group:
    group, _ = Group.objects.get_or_create(name=BOX_OFFICE_GROUP)
    group.permissions.add(
        Permission.objects.get(codename="use_box_office", content_type__app_label="booking")
    )
    return group
