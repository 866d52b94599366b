"""The words of a consultation, with the DECP 2.0.3 value each maps to.

The open data of the contracts (DECP, "données essentielles", schema 2.0.3 in
``shared/data/decp``) is published later from what the buyer records now, so that nothing
is typed twice. Our identifiers are English; each choice says which DECP value it is
(``DECP``) and ``docs/glossary.md`` maps the French terms.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Procedure(models.TextChoices):
    ADAPTED = "adapted", _("Adapted procedure (MAPA)")
    OPEN = "open", _("Open call for tenders")
    RESTRICTED = "restricted", _("Restricted call for tenders")
    NEGOTIATED = "negotiated", _("Negotiated procedure")
    COMPETITIVE_DIALOGUE = "competitive_dialogue", _("Competitive dialogue")
    WITHOUT_PUBLICITY = "without_publicity", _("Contract without prior publicity or competition")
    REQUEST_FOR_INFORMATION = "request_for_information", _("Request for information (sourcing)")
    SUBSEQUENT = "subsequent", _("Subsequent contract of a framework agreement")


# The procedures in two phases: applications first, then offers from the candidates the
# buyer admits (articles R2161-6 and following for the restricted call for tenders,
# R2161-12 for the negotiated procedure, R2161-24 for the competitive dialogue).
TWO_PHASE = frozenset({Procedure.RESTRICTED, Procedure.NEGOTIATED, Procedure.COMPETITIVE_DIALOGUE})

# The procedures whose offers may be negotiated in rounds (``rounds.py``): the negotiated
# procedure (R2161-21), the competitive dialogue's dialogue (R2161-27), and an adapted
# procedure whose consultation reserves the possibility to negotiate (R2123-5). Never the
# open or restricted call for tenders, where only clarifications may be asked
# (R2161-5, R2161-11).
NEGOTIABLE = frozenset({Procedure.NEGOTIATED, Procedure.COMPETITIVE_DIALOGUE})


def allows_negotiation(procedure: str, *, negotiation_reserved: bool) -> bool:
    """Whether a consultation of ``procedure`` may open negotiation rounds: always for
    ``NEGOTIABLE``; an adapted procedure only when its consultation says the buyer
    reserves the possibility to negotiate."""
    if procedure in NEGOTIABLE:
        return True
    return procedure == Procedure.ADAPTED and negotiation_reserved


# The DECP ``procedure`` of each of ours. A request for information awards no contract;
# a subsequent contract is declared under the framework agreement's own procedure
# (``idAccordCadre``, ``modalitesExecution`` "Marchés subséquents").
DECP_PROCEDURE: dict[str, str | None] = {
    Procedure.ADAPTED: "Procédure adaptée",
    Procedure.OPEN: "Appel d'offres ouvert",
    Procedure.RESTRICTED: "Appel d'offres restreint",
    Procedure.NEGOTIATED: "Procédure avec négociation",
    Procedure.COMPETITIVE_DIALOGUE: "Dialogue compétitif",
    Procedure.WITHOUT_PUBLICITY: "Marché passé sans publicité ni mise en concurrence préalable",
    Procedure.REQUEST_FOR_INFORMATION: None,
    Procedure.SUBSEQUENT: None,
}


class Category(models.TextChoices):
    """What is bought (OCDS ``mainProcurementCategory``)."""

    WORKS = "works", _("Works")
    SUPPLIES = "supplies", _("Supplies")
    SERVICES = "services", _("Services")


class ContractNature(models.TextChoices):
    """DECP ``nature``."""

    CONTRACT = "contract", pgettext_lazy("contract nature", "Public contract")
    PARTNERSHIP = "partnership", _("Partnership contract")
    DEFENCE = "defence", _("Defence or security contract")


DECP_NATURE = {
    ContractNature.CONTRACT: "Marché",
    ContractNature.PARTNERSHIP: "Marché de partenariat",
    ContractNature.DEFENCE: "Marché de défense ou de sécurité",
}


class Ccag(models.TextChoices):
    """DECP ``ccag``: the general administrative conditions the contract refers to."""

    WORKS = "works", _("Works (CCAG-Travaux)")
    PROJECT_MANAGEMENT = "project_management", _("Project management (CCAG-MOE)")
    SUPPLIES_SERVICES = "supplies_services", _("Supplies and services (CCAG-FCS)")
    INDUSTRIAL = "industrial", _("Industrial contracts (CCAG-MI)")
    INTELLECTUAL = "intellectual", _("Intellectual services (CCAG-PI)")
    ICT = "ict", _("Information and communication technologies (CCAG-TIC)")
    NONE = "none", _("No CCAG")


DECP_CCAG = {
    Ccag.WORKS: "Travaux",
    Ccag.PROJECT_MANAGEMENT: "Maitrise d'œuvre",
    Ccag.SUPPLIES_SERVICES: "Fournitures courantes et services",
    Ccag.INDUSTRIAL: "Marchés industriels",
    Ccag.INTELLECTUAL: "Prestations intellectuelles",
    Ccag.ICT: "Techniques de l'information et de la communication",
    Ccag.NONE: "Pas de CCAG",
}


class Technique(models.TextChoices):
    """DECP ``techniques``."""

    FRAMEWORK = "framework", _("Framework agreement")
    DESIGN_CONTEST = "design_contest", _("Design contest")
    QUALIFICATION_SYSTEM = "qualification_system", _("Qualification system")
    DYNAMIC_PURCHASING = "dynamic_purchasing", _("Dynamic purchasing system")
    CATALOGUE = "catalogue", _("Electronic catalogue")
    AUCTION = "auction", _("Electronic auction")


DECP_TECHNIQUE = {
    Technique.FRAMEWORK: "Accord-cadre",
    Technique.DESIGN_CONTEST: "Concours",
    Technique.QUALIFICATION_SYSTEM: "Système de qualification",
    Technique.DYNAMIC_PURCHASING: "Système d'acquisition dynamique",
    Technique.CATALOGUE: "Catalogue électronique",
    Technique.AUCTION: "Enchère électronique",
}
# No technique chosen is DECP's "Sans objet"; no execution mode chosen, the same.
DECP_NOT_APPLICABLE = "Sans objet"


class ExecutionMode(models.TextChoices):
    """DECP ``modalitesExecution``."""

    TRANCHES = "tranches", _("Tranches")
    PURCHASE_ORDERS = "purchase_orders", _("Purchase orders")
    SUBSEQUENT_CONTRACTS = "subsequent_contracts", _("Subsequent contracts")


DECP_EXECUTION_MODE = {
    ExecutionMode.TRANCHES: "Tranches",
    ExecutionMode.PURCHASE_ORDERS: "Bons de commande",
    ExecutionMode.SUBSEQUENT_CONTRACTS: "Marchés subséquents",
}


class PriceType(models.TextChoices):
    """DECP ``typesPrix``."""

    FIRM = "firm", _("Final, firm")
    ADJUSTABLE = "adjustable", _("Final, adjustable")
    REVISABLE = "revisable", _("Final, revisable")
    PROVISIONAL = "provisional", _("Provisional")


DECP_PRICE_TYPE = {
    PriceType.FIRM: "Définitif ferme",
    PriceType.ADJUSTABLE: "Définitif actualisable",
    PriceType.REVISABLE: "Définitif révisable",
    PriceType.PROVISIONAL: "Provisoire",
}


class PriceForm(models.TextChoices):
    """DECP ``formePrix``."""

    UNIT = "unit", _("Unit prices")
    LUMP_SUM = "lump_sum", _("Lump sum")
    MIXED = "mixed", _("Mixed")


DECP_PRICE_FORM = {
    PriceForm.UNIT: "Unitaire",
    PriceForm.LUMP_SUM: "Forfaitaire",
    PriceForm.MIXED: "Mixte",
}


class SocialConsideration(models.TextChoices):
    """DECP ``considerationsSociales`` (none chosen: "Pas de considération sociale")."""

    CLAUSE = "clause", _("Social clause")
    CRITERION = "criterion", _("Social award criterion")
    RESERVED = "reserved", _("Reserved contract")


DECP_SOCIAL = {
    SocialConsideration.CLAUSE: "Clause sociale",
    SocialConsideration.CRITERION: "Critère social",
    SocialConsideration.RESERVED: "Marché réservé",
}


class EnvironmentalConsideration(models.TextChoices):
    """DECP ``considerationsEnvironnementales`` (none chosen: "Pas de considération
    environnementale")."""

    CLAUSE = "clause", _("Environmental clause")
    CRITERION = "criterion", _("Environmental award criterion")


DECP_ENVIRONMENTAL = {
    EnvironmentalConsideration.CLAUSE: "Clause environnementale",
    EnvironmentalConsideration.CRITERION: "Critère environnemental",
}
