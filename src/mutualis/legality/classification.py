"""The default classification: the standard @ctes nomenclature of matières (two levels)
and the default piece-type typology, until the member's prefecture sends its own
(``RetourClassification``, a later slice).

No classification file of a prefecture is among the platform's reference data, so this
is a small seed written from the public nomenclature, not a copy of any prefecture's
file: level 1 is the national list (1 "Commande publique" … 9 "Autres domaines de
compétences"), level 2 its usual subdivisions. The schema asks for two levels at least
(``CodeMatiere1`` and ``CodeMatiere2``).
"""

from __future__ import annotations

from datetime import date

from .actes import Nature

VERSION_DATE = date(2026, 1, 1)

MATIERES: dict[str, str] = {
    "1": "Commande publique",
    "1.1": "Marchés publics",
    "1.2": "Délégation de service public",
    "1.3": "Conventions de mandat",
    "1.4": "Autres types de contrats",
    "1.5": "Transactions / protocole d'accord transactionnel",
    "1.6": "Actes relatifs à la maîtrise d'œuvre",
    "1.7": "Actes spéciaux et divers",
    "2": "Urbanisme",
    "2.1": "Documents d'urbanisme",
    "2.2": "Actes relatifs au droit d'occupation ou d'utilisation des sols",
    "2.3": "Droit de préemption urbain",
    "3": "Domaine et patrimoine",
    "3.1": "Acquisitions",
    "3.2": "Aliénations",
    "3.3": "Locations",
    "3.4": "Limites territoriales",
    "3.5": "Autres actes de gestion du domaine public",
    "3.6": "Autres actes de gestion du domaine privé",
    "4": "Fonction publique",
    "4.1": "Personnel titulaire et stagiaire de la FPT",
    "4.2": "Personnel contractuel",
    "4.3": "Fonction publique hospitalière",
    "4.4": "Autres catégories de personnels",
    "4.5": "Régime indemnitaire",
    "5": "Institutions et vie politique",
    "5.1": "Élection exécutif",
    "5.2": "Fonctionnement des assemblées",
    "5.3": "Désignation de représentants",
    "5.4": "Délégation de fonctions",
    "5.5": "Délégation de signature",
    "5.6": "Exercice des mandats locaux",
    "5.7": "Intercommunalité",
    "5.8": "Décision d'ester en justice",
    "6": "Libertés publiques et pouvoirs de police",
    "6.1": "Police municipale",
    "6.4": "Autres actes réglementaires",
    "6.5": "Actes pris au nom de l'État",
    "7": "Finances locales",
    "7.1": "Décisions budgétaires",
    "7.2": "Fiscalité",
    "7.3": "Emprunts",
    "7.4": "Interventions économiques",
    "7.5": "Subventions",
    "7.6": "Contributions budgétaires",
    "7.10": "Divers",
    "8": "Domaines de compétences par thèmes",
    "8.1": "Enseignement",
    "8.2": "Aide sociale",
    "8.3": "Voirie",
    "8.4": "Aménagement du territoire",
    "8.5": "Politique de la ville, habitat, logement",
    "8.8": "Environnement",
    "8.9": "Culture",
    "9": "Autres domaines de compétences",
    "9.1": "Autres domaines de compétences des communes",
    "9.4": "Vœux et motions",
}

# Piece type codes (``CodeTypePJ``) of the default typology, with the natures they fit.
PIECE_TYPES: dict[str, str] = {
    "99_DE": "Délibération",
    "99_AR": "Arrêté réglementaire",
    "99_AI": "Arrêté individuel",
    "99_CO": "Contrat, convention",
    "99_BU": "Document budgétaire",
    "99_AU": "Autre document",
}
PIECE_TYPES_BY_NATURE: dict[Nature, tuple[str, ...]] = {
    nature: tuple(PIECE_TYPES) for nature in Nature
}


def leaf_choices() -> list[tuple[str, str]]:
    """The codes an act may carry (two levels), with their labels."""
    return [
        (code, f"{code} {MATIERES[code.split('.')[0]]} / {label}")
        for code, label in MATIERES.items()
        if "." in code
    ]


def is_leaf(code: str) -> bool:
    return "." in code and code in MATIERES


def levels(code: str) -> list[int]:
    """``"7.10"`` → ``[7, 10]``: the ``CodeMatiere1…5`` of the message."""
    return [int(part) for part in code.split(".")]
