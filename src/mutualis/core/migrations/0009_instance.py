import uuid

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0008_email_attachments_headers_alternatives"),
    ]

    operations = [
        migrations.CreateModel(
            name="Instance",
            fields=[
                (
                    "id",
                    models.PositiveSmallIntegerField(
                        default=1, editable=False, primary_key=True, serialize=False
                    ),
                ),
                (
                    "identifier",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, unique=True, verbose_name="identifier"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at")),
                ("legacy_checkpoints_until", models.DateTimeField(blank=True, editable=False, null=True)),
            ],
            options={
                "verbose_name": "instance",
                "verbose_name_plural": "instance",
                "constraints": [
                    models.CheckConstraint(condition=models.Q(("id", 1)), name="instance_single_row")
                ],
            },
        ),
        migrations.AddField(
            model_name="auditcheckpoint",
            name="instance",
            field=models.UUIDField(blank=True, null=True),
        ),
    ]
