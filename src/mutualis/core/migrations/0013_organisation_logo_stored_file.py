from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("core", "0012_move_logos_to_file_store")]

    operations = [
        migrations.RemoveField(model_name="organisation", name="logo"),
        migrations.RenameField(model_name="organisation", old_name="logo_file", new_name="logo"),
    ]
