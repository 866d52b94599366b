"""Copy each member's logo from MEDIA_ROOT/logos/ into the file store.

The logos were checked when uploaded (PNG or JPEG, re-read by Pillow) and stored under
names the platform chose (``<slug>-<hex>.png|jpg``), so the extension gives the type. A
logo whose file is missing is left as it is, and the next migration drops it. The files
under MEDIA_ROOT stay where they are (past audit events name them).
"""

import hashlib
import os
import uuid

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage, storages
from django.db import migrations

# mutualis.core.models.organisations.LOGO_OWNER_KIND (a migration imports no app code).
LOGO_OWNER_KIND = "core.logo"
CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg"}


def move_logos(apps, schema_editor):
    Organisation = apps.get_model("core", "Organisation")
    StoredFile = apps.get_model("core", "StoredFile")
    store = storages["files"]
    with_logo = Organisation.objects.exclude(logo="").filter(logo_file__isnull=True)
    for organisation in with_logo.order_by("pk").iterator():
        name = organisation.logo.name
        content_type = CONTENT_TYPES.get(name.rsplit(".", 1)[-1].lower())
        if content_type is None or not default_storage.exists(name):
            continue
        with default_storage.open(name, "rb") as source:
            data = source.read()  # at most 1 MB
        stored_id = uuid.uuid4()
        key = store.save(f"{stored_id.hex[:2]}/{stored_id.hex}", ContentFile(data))
        stored = StoredFile.objects.create(
            id=stored_id,
            key=key,
            owner_kind=LOGO_OWNER_KIND,
            owner_ref=str(organisation.pk),
            original_name=os.path.basename(name),
            content_type=content_type,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )
        Organisation.objects.filter(pk=organisation.pk).update(logo_file=stored)


def restore_logos(apps, schema_editor):
    Organisation = apps.get_model("core", "Organisation")
    StoredFile = apps.get_model("core", "StoredFile")
    store = storages["files"]
    for organisation in Organisation.objects.filter(logo_file__isnull=False).order_by("pk"):
        stored = StoredFile.objects.get(pk=organisation.logo_file_id)
        with store.open(stored.key, "rb") as source:
            name = default_storage.save(f"logos/{stored.original_name}", ContentFile(source.read()))
        Organisation.objects.filter(pk=organisation.pk).update(logo=name, logo_file=None)


class Migration(migrations.Migration):
    dependencies = [("core", "0011_stored_file_and_logo_file")]

    operations = [migrations.RunPython(move_logos, restore_logos)]
