"""Plain-text e-mails are not HTML-escaped; HTML ones still are (issue 12, Trust II)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core import mail as django_mail
from django.template import engines
from django.template.loader import render_to_string

from mutualis.core import mail
from tests.factories.companies import company_siren, register_company, verified_person

SRC = Path(mail.__file__).resolve().parents[1]
HOSTILE = "Dupont & Fils <l'atelier>"


def _email_text_templates() -> list[str]:
    """Every e-mail's text template of the project, by its template name."""
    names = []
    for path in SRC.glob("*/templates/**/email/*.txt"):
        parts = path.parts
        names.append("/".join(parts[parts.index("templates") + 1 :]))
    return sorted(names)


def test_every_plain_text_template_is_rendered_unescaped(monkeypatch):
    # Every variable of every template prints the hostile text: the engine's value for
    # a missing variable, which goes through escaping exactly as a real value would.
    monkeypatch.setattr(engines["text"].engine, "string_if_invalid", HOSTILE)
    monkeypatch.setattr(engines["django"].engine, "string_if_invalid", HOSTILE)
    names = _email_text_templates()
    assert len(names) >= 16
    for name in names:
        rendered = mail.render_text(name, {})
        assert HOSTILE in rendered, (name, rendered)
        for escaped in ("&amp;", "&lt;", "&gt;", "&#x27;", "&quot;"):
            assert escaped not in rendered, (name, rendered)
    # The same templates through the page engine would be escaped: the test has teeth.
    assert "&amp;" in render_to_string("companies/email/verified_subject.txt", {})


def test_no_text_template_goes_through_the_escaping_renderer():
    """Plain-text templates are rendered by ``core.mail.render_text`` alone."""
    offending = []
    for path in SRC.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if re.search(r"render_to_string\(\s*f?[\"'][^\"']*\.txt[\"']", text):
            offending.append(str(path))
    assert offending == []


@pytest.mark.django_db
def test_a_company_name_reaches_the_subject_as_typed(django_capture_on_commit_callbacks):
    person = verified_person("alice@menuiserie.example")
    with django_capture_on_commit_callbacks(execute=True):
        register_company(person, siren=company_siren(9), name="L'atelier <Dupont> & Fils")
    [message] = django_mail.outbox
    assert "L'atelier <Dupont> & Fils" in message.subject
    assert "L'atelier <Dupont> & Fils" in message.body
    assert "&#x27;" not in message.subject + message.body


@pytest.mark.django_db
def test_the_html_invitation_stays_escaped(agent_a, django_capture_on_commit_callbacks):
    from mutualis.identity import invitations

    agent_a.organisation.name = "Commune <b>A</b> & co"
    agent_a.organisation.save()
    with django_capture_on_commit_callbacks(execute=True):
        invitations.send_invitation(
            actor=agent_a, email="x@example.org", roles=["secretary"], site_url="http://t"
        )
    [message] = django_mail.outbox
    assert "Commune <b>A</b> & co" in message.subject
    assert "Commune <b>A</b> & co" in message.body
    html = message.alternatives[0][0]
    assert "Commune &lt;b&gt;A&lt;/b&gt; &amp; co" in html
    assert "<b>A</b>" not in html
