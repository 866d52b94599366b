"""The companies' and organisations' invitations share one mechanism
(``core.invitations``): the same field definitions, and the rule that an invitation is
accepted or revoked, never both (the services never wrote both)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("companies", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="companyinvitation",
            name="accepted_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="accepted at"),
        ),
        migrations.AlterField(
            model_name="companyinvitation",
            name="expires_at",
            field=models.DateTimeField(verbose_name="expires at"),
        ),
        migrations.AlterField(
            model_name="companyinvitation",
            name="revoked_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="revoked at"),
        ),
        migrations.AlterField(
            model_name="companyinvitation",
            name="token_digest",
            field=models.CharField(editable=False, max_length=64, unique=True),
        ),
        migrations.AddConstraint(
            model_name="companyinvitation",
            constraint=models.CheckConstraint(
                condition=models.Q(accepted_at__isnull=True) | models.Q(revoked_at__isnull=True),
                name="company_invitation_accepted_or_revoked",
            ),
        ),
    ]
