"""A budget act's XML document is validated against the DGFiP's budget document schema,
vendored with the one patch that lets it compile (schemas/SOURCE-docbudg.md)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django_scopes import scopes_disabled
from lxml import etree

from mutualis.legality import actes, services
from mutualis.legality.models import Act, ActStatus
from tests.factories.legality import prepare
from tests.factories.standin import clerk, member

__all__ = ["clerk", "member"]

VALID = (
    Path(__file__).parent.parent / "data" / "legality" / "document_budgetaire.xml"
).read_bytes()
UPSTREAM = Path("/work/shared/data/pes/SchemaDocBudg/DocumentBudgetaire.xsd")


def test_the_patched_schema_compiles_and_accepts_a_budget_document():
    assert actes.budget_errors(VALID) == []


@pytest.mark.skipif(not UPSTREAM.exists(), reason="the upstream copy is not on this machine")
def test_the_upstream_schema_does_not_compile_which_is_why_it_is_patched():
    with pytest.raises(etree.XMLSchemaParseError, match="TBlocEditeur"):
        etree.XMLSchema(etree.parse(str(UPSTREAM)))


def test_the_editor_block_still_takes_any_content():
    document = VALID.replace(
        b"<CodeEditeur>Logiciel</CodeEditeur>",
        b"<CodeEditeur>Logiciel</CodeEditeur><Autre xmlns='urn:x'>1</Autre>",
    )
    assert actes.budget_errors(document) == []


@pytest.mark.parametrize(
    "document",
    [
        VALID.replace(b'<Exer V="2026"/>', b""),
        VALID.replace(b"DocumentBudgetaire xmlns", b"DocumentBudgetaireX xmlns").replace(
            b"</DocumentBudgetaire>", b"</DocumentBudgetaireX>"
        ),
        VALID[:200],
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
    ],
)
def test_an_invalid_budget_document_is_explained(document):
    assert actes.budget_errors(document)


pytestmark = pytest.mark.django_db


def budget_act(clerk, data: bytes):
    return prepare(
        clerk,
        nature=5,
        number="BP_2026",
        classification_code="7.1",
        document=services.Upload(io.BytesIO(data), "budget.xml"),
        annexes=[],
    )


def test_a_valid_budget_document_is_sent(clerk):
    act = budget_act(clerk, VALID)

    services.validate_act(actor=clerk, act_id=act.pk)

    with scopes_disabled():
        assert Act.objects.get(pk=act.pk).status == ActStatus.WAITING


def test_an_invalid_budget_document_blocks_the_sending_with_the_schema_s_words(clerk):
    act = budget_act(clerk, VALID.replace(b'<Exer V="2026"/>', b""))

    with pytest.raises(services.ActRefused) as refused:
        services.validate_act(actor=clerk, act_id=act.pk)

    [problem] = [p for p in refused.value.problems if p.code == "legality_budget_document_invalid"]
    assert "budget.xml" in str(problem.message)
    assert "Exer" in str(problem.message) or "BudgPrec" in str(problem.message)
    with scopes_disabled():
        assert Act.objects.get(pk=act.pk).status == ActStatus.PREPARED
