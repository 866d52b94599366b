from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CompaniesConfig(AppConfig):
    name = "mutualis.companies"
    label = "companies"
    verbose_name = _("Businesses")

    def ready(self) -> None:
        from mutualis.core.files import register_owner

        from .models import VAULT_OWNER_KIND
        from .selectors import can_read_vault_file

        # The vault's files: read by the company's active representatives only, under
        # its path (``/c/<siren>/files/…``); anyone else gets 404.
        register_owner(VAULT_OWNER_KIND, can_read=can_read_vault_file)
