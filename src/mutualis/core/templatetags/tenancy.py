"""``{% tenant_url 'members:detail' pk=m.pk %}``: a link to a page of the same
organisation (or company) as the page being drawn."""

from typing import Any

from django import template

from mutualis.core.tenancy import tenant_reverse

register = template.Library()


@register.simple_tag(takes_context=True)
def tenant_url(context: Any, name: str, **kwargs: Any) -> str:
    return tenant_reverse(context["request"], name, **kwargs)
