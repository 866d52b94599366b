from django.db import migrations

# Roles that act on procurement or administer a member: a second factor by default.
MFA_ROLES = ["org_admin", "buyer", "commission_member"]


def require_mfa(apps, schema_editor):
    Role = apps.get_model("identity", "Role")
    Role.objects.filter(code__in=MFA_ROLES).update(requires_mfa=True)


class Migration(migrations.Migration):
    dependencies = [("identity", "0003_role_requires_mfa")]
    operations = [migrations.RunPython(require_mfa, migrations.RunPython.noop)]
