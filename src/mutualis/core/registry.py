"""What each context contributes to the platform, collected by core.

Core imports no other context. At start-up (``CoreConfig.ready``) it imports the module
``platform`` of every installed app that has one; such a module declares, by calling the
functions below, what the context brings: the classification of its routes, its periodic
jobs, its named crossings, its roles, its menu entries, its services, its sections of a
member's public page, its demo data, its release steps and how a URL names the party a
person acts for. Adding a context therefore touches no file of core: it ships its own
``platform.py`` (a context that exists only in the test suite shows it).

The declarations are plain data kept in module-level tables. They are written once, while
Django loads its apps (single-threaded), and only read afterwards.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from typing import Any

from django.utils.module_loading import autodiscover_modules

# --- Routes ----------------------------------------------------------------------------


class Access(enum.Enum):
    """Who may reach a route: the classification the tenancy walk checks on every URL."""

    PUBLIC = "public"  # anyone, public facts only
    ACCOUNT = "account"  # a signed-in person, about their own account only
    TENANT = "tenant"  # the agents of the organisation (or company) named in the path
    OPERATOR = "operator"  # operator staff only


_routes: dict[str, Access] = {}
_route_prefixes: dict[str, Access] = {}


def declare_routes(
    *, exact: dict[str, Access] | None = None, prefixes: dict[str, Access] | None = None
) -> None:
    """Classify routes by exact name (``"core:home"``) or by name prefix (``"members:"``).

    A route nobody classified makes the tenancy walk fail, so that a page is never
    published without someone deciding who may see it.
    """
    for table, entries in ((_routes, exact or {}), (_route_prefixes, prefixes or {})):
        for name, access in entries.items():
            if table.get(name, access) is not access:
                raise ValueError(f"Route {name!r} is classified twice, differently.")
            table[name] = access


def classify(name: str) -> Access | None:
    if name in _routes:
        return _routes[name]
    # The longest prefix wins: a public "account_signup" inside a wider "account_".
    for prefix in sorted(_route_prefixes, key=len, reverse=True):
        if name.startswith(prefix):
            return _route_prefixes[prefix]
    return None


# --- Who a URL acts for ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TenantKind:
    """A kind of party named in the path: ``/o/<slug>/…`` for an organisation, ``/c/<siren>/…``
    for a company.

    ``resolve(request, key)`` returns the person's active standing in that party (their
    membership, their representation) or None, which answers 404. ``dimension`` is the
    django-scopes dimension entered with ``scope_id(actor)``; ``attribute`` the request
    attribute the actor is set on (``request.membership``).
    """

    prefix: str
    url_kwarg: str
    # The path converter of the party's key ("slug", or a registered converter).
    converter: str
    dimension: str
    attribute: str
    resolve: Callable[[Any, str], Any]
    scope_id: Callable[[Any], int]
    # The spaces a person may act in, for the switcher: [(name, url)], no scope needed.
    spaces: Callable[[Any], list[tuple[str, str]]]


_tenant_kinds: dict[str, TenantKind] = {}


def declare_tenant_kind(kind: TenantKind) -> None:
    _tenant_kinds[kind.prefix] = kind


def tenant_kinds() -> dict[str, TenantKind]:
    return dict(_tenant_kinds)


# --- URLs ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Urls:
    """A context's URL patterns mounted at ``prefix`` (``"organisations/"``). With
    ``tenant`` (a ``TenantKind`` prefix such as ``"o"``), they are mounted under the
    party's path: ``o/<slug:org>/<prefix>``. ``urlconf`` may be a callable, read when the
    root URLconf is built (an API whose routers the contexts attach meanwhile). ``order``
    decides which of two overlapping mounts is tried first (allauth's pages after the
    platform's own under ``accounts/``)."""

    prefix: str
    urlconf: Any
    tenant: str | None = None
    order: int = 100


_urls: list[Urls] = []


def declare_urls(urls: Urls) -> None:
    _urls.append(urls)


def url_patterns() -> list[Any]:
    """Every context's URL patterns, for the root URLconf."""
    from django.urls import include, path

    patterns = []
    for urls in sorted(_urls, key=lambda u: u.order):
        route = urls.prefix
        if urls.tenant is not None:
            kind = _tenant_kinds[urls.tenant]
            route = f"{kind.prefix}/<{kind.converter}:{kind.url_kwarg}>/{urls.prefix}"
        urlconf = urls.urlconf() if callable(urls.urlconf) else urls.urlconf
        # django-ninja gives (patterns, app_name, namespace), which path() takes as is.
        target = urlconf if isinstance(urlconf, tuple) else include(urlconf)
        patterns.append(path(route, target))
    return patterns


# --- Periodic jobs ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PeriodicJob:
    """A job the scheduler enqueues: a django-tasks task, an APScheduler trigger. Every
    job is idempotent, since a failover or a retry may run it twice."""

    name: str
    task: Any
    trigger: Any
    description: str


_jobs: dict[str, PeriodicJob] = {}


def declare_periodic_job(job: PeriodicJob) -> None:
    if job.name in _jobs and _jobs[job.name] != job:
        raise ValueError(f"Periodic job {job.name!r} is declared twice.")
    _jobs[job.name] = job


def periodic_jobs() -> list[PeriodicJob]:
    return list(_jobs.values())


# --- Named crossings -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Crossing:
    name: str
    reason: str


_crossings: dict[str, Crossing] = {}


def crossing(function: Callable[..., Any]) -> Callable[..., Any]:
    """Name a function that reads across members (it disables the scopes); its docstring
    says why. Such functions live in a ``crossings.py`` module of their context."""
    reason = (function.__doc__ or "").strip()
    if not reason:
        raise ValueError(f"The crossing {function.__qualname__} must say why in a docstring.")
    name = f"{function.__module__}.{function.__qualname__}"
    _crossings[name] = Crossing(name=name, reason=reason)
    return function


def crossings() -> list[Crossing]:
    return sorted(_crossings.values(), key=lambda c: c.name)


# --- Roles and services ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RoleDeclaration:
    """A role a membership can carry. ``service`` ties it to a service's subscription:
    administrators are offered it only where their organisation subscribes."""

    code: str
    label: Any
    position: int = 100
    service: str | None = None
    requires_mfa: bool = False


@dataclasses.dataclass(frozen=True)
class ServiceDeclaration:
    """A service of the catalogue, backed by a context: the code is the source of truth,
    ``mutualis setup`` brings the catalogue's rows in line with the declarations."""

    code: str
    name: Any
    description: Any = ""
    position: int = 100
    # The route of the service's home page, reversed with the organisation's slug.
    home: str = ""


_roles: dict[str, RoleDeclaration] = {}
_services: dict[str, ServiceDeclaration] = {}


def declare_role(role: RoleDeclaration) -> None:
    _roles[role.code] = role


def roles() -> list[RoleDeclaration]:
    return sorted(_roles.values(), key=lambda r: (r.position, r.code))


def declare_service(service: ServiceDeclaration) -> None:
    _services[service.code] = service


def services() -> dict[str, ServiceDeclaration]:
    return dict(_services)


# --- Menus and public-page sections ----------------------------------------------------


@dataclasses.dataclass(frozen=True)
class MenuEntry:
    """An entry of the main menu. ``url(request)`` gives its address, or None to hide it
    (a role missing, no organisation in the path)."""

    key: str
    label: Any
    url: Callable[[Any], str | None]
    position: int = 100


_menu: dict[str, MenuEntry] = {}


def declare_menu_entry(entry: MenuEntry) -> None:
    _menu[entry.key] = entry


def menu_entries() -> list[MenuEntry]:
    return sorted(_menu.values(), key=lambda e: (e.position, e.key))


@dataclasses.dataclass(frozen=True)
class PageSection:
    """A section a context adds to a member's public page in the directory: the directory
    renders ``template`` with ``context(organisation)``, or nothing when it returns None."""

    key: str
    template: str
    context: Callable[[Any], dict[str, Any] | None]
    position: int = 100


_sections: dict[str, PageSection] = {}


def declare_page_section(section: PageSection) -> None:
    _sections[section.key] = section


def page_sections() -> list[PageSection]:
    return sorted(_sections.values(), key=lambda s: (s.position, s.key))


@dataclasses.dataclass(frozen=True)
class ConsultationSection:
    """A section a context adds to a consultation's page: ``audience`` is ``"public"`` (the
    portal's page, anyone) or ``"buyer"`` (the member's workspace page). The page renders
    ``template`` with ``context(request, consultation)``, or nothing when it returns None.
    So a context above procurement (sealed deposits) shows itself on its pages without
    procurement knowing it."""

    key: str
    audience: str
    template: str
    context: Callable[[Any, Any], dict[str, Any] | None]
    position: int = 100


_consultation_sections: dict[str, ConsultationSection] = {}


def declare_consultation_section(section: ConsultationSection) -> None:
    if section.audience not in ("public", "buyer"):
        raise ValueError(f"Unknown audience {section.audience!r}.")
    _consultation_sections[section.key] = section


def consultation_sections(audience: str) -> list[ConsultationSection]:
    return sorted(
        (s for s in _consultation_sections.values() if s.audience == audience),
        key=lambda s: (s.position, s.key),
    )


def render_consultation_sections(request: Any, consultation: Any, audience: str) -> list[str]:
    """The sections other contexts add to a consultation's page, rendered in order."""
    from django.template.loader import render_to_string

    rendered: list[str] = []
    for section in consultation_sections(audience):
        context = section.context(request, consultation)
        if context is not None:
            context = {**context, "consultation": consultation}
            rendered.append(render_to_string(section.template, context, request=request))
    return rendered


@dataclasses.dataclass(frozen=True)
class ContractSection:
    """A section a context adds to the buyer's page of a contract (``contracts``): the
    page renders ``template`` with ``context(request, contract)``, or nothing when it
    returns None. So a context above contracts (the DECP entry) shows itself there
    without contracts knowing it."""

    key: str
    template: str
    context: Callable[[Any, Any], dict[str, Any] | None]
    position: int = 100


_contract_sections: dict[str, ContractSection] = {}


def declare_contract_section(section: ContractSection) -> None:
    _contract_sections[section.key] = section


def contract_sections() -> list[ContractSection]:
    return sorted(_contract_sections.values(), key=lambda s: (s.position, s.key))


def render_contract_sections(request: Any, contract: Any) -> list[str]:
    """The sections other contexts add to a contract's page, rendered in order."""
    from django.template.loader import render_to_string

    rendered: list[str] = []
    for section in contract_sections():
        context = section.context(request, contract)
        if context is not None:
            context = {**context, "contract": contract}
            rendered.append(render_to_string(section.template, context, request=request))
    return rendered


# --- Demo data and release steps -------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Step:
    """A named step run in ``order``: a release step of ``mutualis setup``, or a part of
    the demo data of ``mutualis seed_demo``. ``run(stdout)`` must be idempotent."""

    name: str
    order: int
    run: Callable[[Any], Any]
    description: Any = ""


_demo_steps: dict[str, Step] = {}
_setup_steps: dict[str, Step] = {}


def declare_demo_step(step: Step) -> None:
    _demo_steps[step.name] = step


def demo_steps() -> list[Step]:
    return sorted(_demo_steps.values(), key=lambda s: (s.order, s.name))


def declare_setup_step(step: Step) -> None:
    _setup_steps[step.name] = step


def setup_steps() -> list[Step]:
    return sorted(_setup_steps.values(), key=lambda s: (s.order, s.name))


# --- Discovery -------------------------------------------------------------------------


def discover() -> None:
    """Import the ``platform`` module of every installed app (called once by core)."""
    autodiscover_modules("platform")
