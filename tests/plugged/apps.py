from django.apps import AppConfig


class PluggedConfig(AppConfig):
    """A context that exists only in the tests: it plugs into the platform through its own
    ``platform`` module, and no file of core names it."""

    name = "tests.plugged"
    label = "plugged"
    default_auto_field = "django.db.models.BigAutoField"
