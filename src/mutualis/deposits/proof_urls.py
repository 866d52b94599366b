"""The proof of deposit's routes: public ones under ``/deposits/`` (``deposits_proof:``),
a company's own under ``/c/<siren>/deposits/`` (``company_deposits_proof:``). Declared by
``platform.py`` as two mounts of this module's two lists."""

from __future__ import annotations

from typing import Any

from django.urls import path

from . import availability_views, proof_views

public_patterns = [
    path("how-it-works/", proof_views.how_it_works, name="how_it_works"),
    path("availability/", availability_views.record, name="availability"),
    path("availability.json", availability_views.record_json, name="availability_json"),
    path("receipt-certificate.pem", proof_views.receipt_certificate, name="receipt_certificate"),
    path("log/<int:pk>/<str:section>/root.tst", proof_views.root_token, name="root_token"),
    path("log/<int:pk>/<str:section>/root.json", proof_views.root_json, name="root_json"),
]

company_patterns = [
    path("<str:reference>/proof/", proof_views.company_proof, name="proof"),
    path("<str:reference>/proof.json", proof_views.company_proof_json, name="proof_json"),
    path("<str:reference>/receipt.json", proof_views.company_receipt_json, name="receipt_json"),
]


def public() -> tuple[list[Any], str, str]:
    return public_patterns, "deposits_proof", "deposits_proof"


def company() -> tuple[list[Any], str, str]:
    return company_patterns, "company_deposits_proof", "company_deposits_proof"
