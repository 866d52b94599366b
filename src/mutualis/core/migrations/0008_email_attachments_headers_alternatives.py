import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0007_organisation_search_fill"),
    ]

    operations = [
        migrations.AddField(
            model_name="outgoingemail",
            name="alternatives",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="outgoingemail",
            name="headers",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.CreateModel(
            name="EmailAttachment",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("position", models.PositiveSmallIntegerField(default=0)),
                ("filename", models.CharField(max_length=255, verbose_name="file name")),
                ("content_type", models.CharField(max_length=255, verbose_name="content type")),
                ("content", models.BinaryField()),
                ("size", models.PositiveIntegerField(verbose_name="size")),
                (
                    "email",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="attachments",
                        to="core.outgoingemail",
                    ),
                ),
            ],
            options={
                "verbose_name": "e-mail attachment",
                "verbose_name_plural": "e-mail attachments",
                "ordering": ["email", "position"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("email", "position"), name="email_attachment_position_unique"
                    )
                ],
            },
        ),
    ]
