"""The address of a vault document's file, under its company's path."""

from __future__ import annotations

from django import template

from mutualis.companies.models import VaultDocument

register = template.Library()


@register.filter
def vault_download_url(document: VaultDocument, siren: str) -> str:
    return document.download_url(siren)
