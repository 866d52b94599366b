"""The demo's consultation files: small PDFs with real text (règlement de la
consultation, CCAP, CCTP, BPU), written by fpdf2 in a few milliseconds each, so that the
demo's DCE can be downloaded, one file or the ZIP, and read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fpdf import FPDF

from mutualis.core.pdf import latin1 as _latin1


class _Document(FPDF):
    def __init__(self, title: str, reference: str, buyer: str) -> None:
        super().__init__(format="A4")
        self.doc_title = _latin1(title)
        self.reference = _latin1(reference)
        self.buyer = _latin1(buyer)
        self.set_title(self.doc_title)
        self.set_author(self.buyer)
        self.set_auto_page_break(auto=True, margin=20)
        self.set_margins(20, 20, 20)

    def header(self) -> None:
        self.set_font("Helvetica", "", 8)
        self.cell(0, 6, f"{self.buyer} - {self.reference}", align="L")
        self.ln(10)

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", "", 8)
        self.cell(0, 8, f"{self.doc_title} - page {self.page_no()}/{{nb}}", align="C")

    def heading(self, text: str) -> None:
        self.set_font("Helvetica", "B", 12)
        self.multi_cell(0, 7, _latin1(text), new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def paragraph(self, text: str) -> None:
        self.set_font("Helvetica", "", 10)
        self.multi_cell(0, 5, _latin1(text), new_x="LMARGIN", new_y="NEXT")
        self.ln(3)


def _start(title: str, consultation: Any) -> _Document:
    pdf = _Document(title, consultation.reference, consultation.organisation.name)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.multi_cell(0, 10, _latin1(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 12)
    pdf.multi_cell(0, 7, _latin1(consultation.title), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    return pdf


def _lots_text(lots: Sequence[Any]) -> str:
    if not lots:
        return "La consultation n'est pas allotie : le marché est attribué à un seul titulaire."
    return (
        "La consultation est divisée en lots : "
        + "; ".join(f"lot {lot.number} - {lot.title}" for lot in lots)
        + ". Un candidat peut répondre à un ou plusieurs lots."
    )


def reglement(consultation: Any, lots: Sequence[Any], criteria: Sequence[Any]) -> bytes:
    pdf = _start("Règlement de la consultation", consultation)
    pdf.heading("Article 1 - Objet de la consultation")
    pdf.paragraph(consultation.object)
    pdf.paragraph(_lots_text(lots))
    pdf.heading("Article 2 - Conditions de la consultation")
    pdf.paragraph(
        "La présente consultation est passée selon la procédure indiquée dans l'avis, en "
        "application du code de la commande publique. Les variantes ne sont pas autorisées. "
        "Le délai de validité des offres est de 120 jours à compter de la date limite de "
        "remise des offres."
    )
    pdf.heading("Article 3 - Contenu du dossier de consultation")
    pdf.paragraph(
        "Le dossier comprend le présent règlement, le cahier des clauses administratives "
        "particulières (CCAP), le cahier des clauses techniques particulières (CCTP) et le "
        "bordereau des prix unitaires (BPU). Il est téléchargeable gratuitement, librement "
        "et complètement sur le profil d'acheteur."
    )
    pdf.heading("Article 4 - Présentation des candidatures et des offres")
    pdf.paragraph(
        "Chaque candidat produit le DUME ou les formulaires DC1 et DC2, les attestations "
        "d'assurance, les références de moins de trois ans et, pour l'offre, l'acte "
        "d'engagement, le BPU complété et un mémoire technique."
    )
    pdf.add_page()
    pdf.heading("Article 5 - Jugement des offres")
    if criteria:
        pdf.paragraph(
            "Les offres sont jugées sur les critères pondérés suivants : "
            + "; ".join(f"{c.label} ({c.weight} %)" for c in criteria)
            + "."
        )
    else:
        pdf.paragraph("L'offre économiquement la plus avantageuse est retenue sur le prix.")
    pdf.heading("Article 6 - Renseignements complémentaires")
    pdf.paragraph(
        "Les questions sont posées sur le profil d'acheteur au plus tard à la date limite "
        "indiquée dans l'avis. Les réponses sont publiées pour tous les candidats. "
        f"Contact : {consultation.contact}."
    )
    return bytes(pdf.output())


def ccap(consultation: Any, lots: Sequence[Any]) -> bytes:
    pdf = _start("Cahier des clauses administratives particulières", consultation)
    articles = [
        ("Article 1 - Objet du marché", consultation.object + " " + _lots_text(lots)),
        (
            "Article 2 - Pièces contractuelles",
            "Par ordre de priorité : l'acte d'engagement, le présent CCAP, le CCTP, le BPU, "
            "le cahier des clauses administratives générales applicable, l'offre technique "
            "du titulaire.",
        ),
        (
            "Article 3 - Durée et délais d'exécution",
            "Le marché prend effet à sa notification. Les délais d'exécution sont ceux de "
            "l'acte d'engagement ; ils courent à compter de l'ordre de service de démarrage.",
        ),
        (
            "Article 4 - Prix et règlement",
            "Les prix sont unitaires, fermes et actualisables. Les sommes dues sont réglées "
            "par virement dans un délai global de paiement de trente jours. Une avance de "
            "10 % est accordée lorsque le montant du marché dépasse 50 000 euros HT.",
        ),
        (
            "Article 5 - Pénalités",
            "En cas de retard, le titulaire encourt une pénalité journalière de 1/3000 du "
            "montant du marché, sans mise en demeure préalable.",
        ),
        (
            "Article 6 - Résiliation",
            "Le marché peut être résilié dans les conditions du cahier des clauses "
            "administratives générales.",
        ),
    ]
    for title, text in articles:
        pdf.heading(title)
        pdf.paragraph(text)
    return bytes(pdf.output())


def cctp(consultation: Any, lots: Sequence[Any]) -> bytes:
    pdf = _start("Cahier des clauses techniques particulières", consultation)
    pdf.heading("1. Présentation générale")
    pdf.paragraph(consultation.object)
    pdf.paragraph(f"Lieu d'exécution : {consultation.place_of_execution or 'voir avis'}.")
    for lot in lots or []:
        pdf.heading(f"Lot {lot.number} - {lot.title}")
        pdf.paragraph(
            "Les prestations du lot comprennent la fourniture, la mise en oeuvre et le "
            "contrôle des ouvrages décrits ci-après, conformément aux normes et documents "
            "techniques unifiés en vigueur. Le titulaire remet un plan d'exécution avant "
            "tout démarrage et tient à jour un journal des interventions."
        )
    pdf.heading("Exigences environnementales")
    pdf.paragraph(
        "Le titulaire limite les nuisances, trie ses déchets sur place et privilégie les "
        "matériaux biosourcés ou issus du réemploi lorsque leurs performances le permettent."
    )
    pdf.heading("Réception")
    pdf.paragraph(
        "La réception est prononcée après vérification contradictoire de la conformité des "
        "prestations au présent cahier."
    )
    return bytes(pdf.output())


def bpu(consultation: Any, lots: Sequence[Any]) -> bytes:
    pdf = _start("Bordereau des prix unitaires", consultation)
    pdf.set_font("Helvetica", "", 10)
    rows = [("Réf.", "Désignation", "Unité", "Prix unitaire HT")]
    sections = [lot.title for lot in lots] or [consultation.title]
    for number, section in enumerate(sections, start=1):
        for item, (label, unit) in enumerate(
            [("Installation de chantier", "forfait"), ("Prestation principale", "u"),
             ("Main d'oeuvre complémentaire", "heure"), ("Repli et nettoyage", "forfait")],
            start=1,
        ):  # fmt: skip
            rows.append((f"{number}.{item}", f"{_latin1(section)[:40]} - {label}", unit, ""))
    with pdf.table(col_widths=(15, 95, 20, 40)) as table:
        for values in rows:
            line = table.row()
            for value in values:
                line.cell(_latin1(value))
    return bytes(pdf.output())


def dce(consultation: Any) -> list[tuple[str, bytes]]:
    """(name, bytes) of a demo consultation's files."""
    lots = list(consultation.lots.all())
    criteria = list(consultation.criteria.all())
    return [
        ("Règlement de la consultation.pdf", reglement(consultation, lots, criteria)),
        ("CCAP.pdf", ccap(consultation, lots)),
        ("CCTP.pdf", cctp(consultation, lots)),
        ("BPU.pdf", bpu(consultation, lots)),
    ]


def additif(consultation: Any) -> bytes:
    pdf = _start("Additif n° 1 au règlement de la consultation", consultation)
    pdf.heading("Objet de l'additif")
    pdf.paragraph(
        "La date limite de remise des offres est reportée d'une semaine afin de permettre "
        "aux candidats d'organiser la visite du site. Les autres dispositions du règlement "
        "de la consultation sont inchangées."
    )
    return bytes(pdf.output())
