"""Real-shaped ``PES_Aller`` flows for the demo and the tests: an expense flow (one
bordereau per entry of ``bordereaux``, one piece and one line each, one attachment),
valid against the PES V2 5.17 schemas. Modelled on the unsigned example of the shared
data (a Département's expense flow), with ``CarteAchatNiveau1`` in its 5.17 form."""

from __future__ import annotations

import base64
import gzip
from collections.abc import Sequence
from datetime import date

from django.utils import timezone

from mutualis.core.pdf import text_pdf

_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<n:PES_Aller xmlns:n="http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller">
  <Enveloppe>
    <Parametres>
      <Version V="2"/>
      <TypFic V="PESALR1"/>
      <NomFic V="{nomfic}"/>
    </Parametres>
    <Emetteur>
      <Sigle V="MUTUALIS"/>
      <Adresse V="LOGICIEL FINANCIER DU MEMBRE"/>
    </Emetteur>
  </Enveloppe>
  <EnTetePES>
    <DteStr V="{day}"/>
    <IdPost V="021000"/>
    <IdColl V="{siret}"/>
    <CodCol V="001"/>
    <CodBud V="00"/>
    <LibelleColBud V="BUDGET PRINCIPAL"/>
  </EnTetePES>
  <PES_DepenseAller>
    <EnTeteDepense>
      <IdVer V="2"/>
      <InfoDematerialisee V="{demat}"/>
    </EnTeteDepense>
"""

_BORDEREAU = """    <Bordereau Id="{id}">
      <BlocBordereau>
        <Exer V="{year}"/>
        <IdBord V="{number}"/>
        <DteBordEm V="{day}"/>
        <TypBord V="01"/>
        <NbrPce V="1"/>
        <MtCumulAnnuel V="125000.00"/>
        <MtBordHT V="1520.40"/>
      </BlocBordereau>
      <Piece>
        <BlocPiece>
          <InfoPce>
            <IdPce V="{number}1"/>
            <TypPce V="01"/>
            <NatPce V="01"/>
            <Obj V="FOURNITURES SCOLAIRES ECOLE JEAN MACE"/>
            <PJRef>
              <Support V="01"/>
              <IdUnique V="{pj}"/>
              <NomPJ V="FACTURE-{number}.PDF"/>
            </PJRef>
            <CarteAchatNiveau1 V="false"/>
          </InfoPce>
        </BlocPiece>
        <LigneDePiece>
          <BlocLignePiece>
            <InfoLignePce>
              <IdLigne V="1"/>
              <Nature V="6067"/>
              <Fonction V="213"/>
              <LibVir1 V="FOURNITURES SCOLAIRES"/>
              <ModRegl V="03"/>
              <TVAIntraCom V="0"/>
              <MtHT V="1520.40"/>
            </InfoLignePce>
          </BlocLignePiece>
          <Tiers>
            <InfoTiers>
              <IdTiers V="45105338300837"/>
              <NatIdTiers V="01"/>
              <RefTiers V="00000000086002"/>
              <CatTiers V="50"/>
              <NatJur V="03"/>
              <Nom V="PAPETERIE DE BOURGOGNE"/>
            </InfoTiers>
            <Adresse>
              <TypAdr V="1"/>
              <Adr2 V="5 RUE BLONDEL"/>
              <CP V="21000"/>
              <Ville V="DIJON"/>
              <CodRes V="0"/>
            </Adresse>
            <CpteBancaire>
              <IBAN V="FR7630066109120002004070173"/>
              <LibBanc V="CREDIT INDUSTRIEL ET COM"/>
              <TitCpte V="PAPETERIE DE BOURGOGNE"/>
            </CpteBancaire>
          </Tiers>
        </LigneDePiece>
      </Piece>
    </Bordereau>
"""

_PJ = """    <PJ>
      <Contenu>
        <Fichier MIMEType="application/pdf">{content}</Fichier>
      </Contenu>
      <IdUnique V="{pj}"/>
      <NomPJ V="FACTURE-{number}.PDF"/>
      <TypePJ V="003"/>
      <Description V="FACTURE {number}"/>
    </PJ>
"""


def nomfic(siret: str, serial: int, day: date) -> str:
    return f"PESALR1_{siret}_{day:%Y%m%d}_{serial:06d}"


def pes_aller(
    siret: str,
    *,
    serial: int = 1,
    day: date | None = None,
    bordereaux: Sequence[int] = (101,),
    dematerialised: bool = True,
    name: str = "",
) -> bytes:
    """An unsigned ``PES_Aller`` of the member whose SIRET is ``siret`` (sign it with
    ``xades.sign_bordereaux`` when ``dematerialised``)."""
    day = day or timezone.localdate()
    name = name or nomfic(siret, serial, day)
    parts = [_HEAD.format(nomfic=name, day=day.isoformat(), siret=siret, demat=int(dematerialised))]
    attachments = []
    for number in bordereaux:
        pj = f"{siret}DEP{day:%Y%m%d}{serial:04d}{number:07d}"
        parts.append(
            _BORDEREAU.format(
                id=f"BORD{serial}_{number}", year=day.year, number=number, day=day, pj=pj
            )
        )
        pdf = text_pdf([f"Facture {number}", "Fournitures scolaires"], title=f"Facture {number}")
        content = base64.b64encode(gzip.compress(pdf, mtime=0)).decode()
        attachments.append(_PJ.format(content=content, pj=pj, number=number))
    parts.append('  </PES_DepenseAller>\n  <PES_PJ>\n    <EnTetePES_PJ>\n      <IdVer V="1"/>\n')
    parts.append("    </EnTetePES_PJ>\n")
    parts.extend(attachments)
    parts.append("  </PES_PJ>\n</n:PES_Aller>\n")
    return "".join(parts).encode()


# --- A return of the treasury (PES_Retour) ------------------------------------------------

_RETOUR_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<n:PES_Retour xmlns:n="http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/retour">
  <Enveloppe>
    <Parametres>
      <Version V="1"/>
      <TypFic V="PES2R_DEP"/>
      <NomFic V="{nomfic}"/>
    </Parametres>
    <Emetteur>
      <Sigle V="DGFIP HELIOS"/>
      <Adresse V="HELIOS"/>
    </Emetteur>
  </Enveloppe>
  <EnTetePES>
    <DteStr V="{day}"/>
    <IdPost V="021000"/>
    <LibellePoste V="DIJON MUNICIPALE"/>
    <IdColl V="{siret}"/>
    <CodColl V="001"/>
    <CodBud V="00"/>
    <LibelleColBud V="BUDGET PRINCIPAL"/>
  </EnTetePES>
  <PES_DepenseRetour>
    <EnTeteDepense>
      <TypRestit V="{nature}"/>
      <IdVer V="2"/>
      <NatInf V="2"/>
    </EnTeteDepense>
"""

_RETOUR_BORDEREAU = """    <Bordereau>
      <BlocBordereau>
        <Exer V="{year}"/>
        <IdBord V="{number}"/>
        <TypBord V="01"/>
      </BlocBordereau>
      <Piece>
        <InfoPiece>
          <IdPce V="{number}1"/>
          <TypPce V="01"/>
          <NatPce V="01"/>
          <Obj V="FOURNITURES SCOLAIRES ECOLE JEAN MACE"/>
          <DtePcePec V="{day}"/>
          <EtatPce V="{state}"/>{observation}
        </InfoPiece>
        <LigneDePiece>
          <BlocLignePiece>
            <InfoLignePiece>
              <IdLigne V="1"/>
              <EtatLigPce V="{line_state}"/>
              <MtHT V="1520.40"/>
            </InfoLignePiece>
          </BlocLignePiece>
        </LigneDePiece>
      </Piece>
    </Bordereau>
"""

REJECTION = "IMPUTATION INCONNUE - NATURE 6067 NON OUVERTE"


def retour_nomfic(nature: str, day: date, serial: int = 1) -> str:
    """Helios's name of a dépense return: ``PES2R_DEP__{nature}_{CodColl}_{CodBud}_
    {codique}_{situation}_{processing}_{timestamp}.xml``."""
    return (
        f"PES2R_DEP__{nature}_001_00_021000_{day:%Y%m%d}_{day:%Y%m%d}_{day:%Y%m%d}{serial:06d}.xml"
    )


def pes_retour(
    siret: str,
    *,
    day: date | None = None,
    rejected: Sequence[int] = (102,),
    accepted: Sequence[int] = (),
    serial: int = 1,
    name: str = "",
) -> bytes:
    """A dépense ``PES_Retour`` of the member whose SIRET is ``siret``, valid against the
    RETOUR schemas: one bordereau per number, each with one piece, rejected (``EtatPce``
    04, with the treasury's observation) or taken in charge (02). With rejected pieces
    it is a rejects return (``R``), otherwise a periodic one (``P``)."""
    day = day or timezone.localdate()
    accepted = accepted if rejected or accepted else (101,)
    nature = "R" if rejected else "P"
    name = name or retour_nomfic(nature, day, serial)
    parts = [_RETOUR_HEAD.format(nomfic=name, day=day.isoformat(), siret=siret, nature=nature)]
    for number, state in [*((n, "04") for n in rejected), *((n, "02") for n in accepted)]:
        observation = f'\n          <ObsEtat V="{REJECTION}"/>' if state == "04" else ""
        parts.append(
            _RETOUR_BORDEREAU.format(
                year=day.year,
                number=number,
                day=day.isoformat(),
                state=state,
                observation=observation,
                line_state="02" if state == "04" else "01",
            )
        )
    parts.append("  </PES_DepenseRetour>\n</n:PES_Retour>\n")
    return "".join(parts).encode()
