"""The organisations' and companies' invitations share one mechanism
(``core.invitations``): the token's digest has one name, ``token_digest``. A rename, so
every stored digest (and so every link sent) keeps working."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("identity", "0005_invitation"),
    ]

    operations = [
        migrations.RenameField(
            model_name="invitation",
            old_name="token_hash",
            new_name="token_digest",
        ),
    ]
