"""Remove the single-use links that e-mails sent before Trust II keep in clear.

From now on such links never reach the outbox (mutualis.core.mail seals them); the rows
already sent or failed still hold them: an invitation, an address confirmation, a
password reset. They are replaced by a notice in every stored part. Queued rows are left
alone (they must still be sent); deploy with an empty queue to leave none behind.
"""

import re

from django.db import migrations

SINGLE_USE_LINK = re.compile(
    r"https?://[^\s\"'<>]*?/(?:invitations|companies/invitations|accounts/confirm-email"
    r"|accounts/password/reset/key)/[^\s\"'<>/]+/?"
)
NOTICE = "[lien à usage unique retiré]"


def redact(apps, schema_editor):
    OutgoingEmail = apps.get_model("core", "OutgoingEmail")
    for email in OutgoingEmail.objects.exclude(status="queued").iterator():
        changed = False
        for field in ("subject", "body_text", "body_html"):
            value = getattr(email, field)
            redacted = SINGLE_USE_LINK.sub(NOTICE, value)
            if redacted != value:
                setattr(email, field, redacted)
                changed = True
        alternatives = [
            {**part, "content": SINGLE_USE_LINK.sub(NOTICE, part.get("content", ""))}
            for part in email.alternatives
        ]
        if alternatives != email.alternatives:
            email.alternatives = alternatives
            changed = True
        if changed:
            email.save(update_fields=["subject", "body_text", "body_html", "alternatives"])


class Migration(migrations.Migration):
    dependencies = [("core", "0015_outgoing_email_claim_message_id_sealed_secrets")]

    operations = [migrations.RunPython(redact, migrations.RunPython.noop)]
