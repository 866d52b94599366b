from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LegalityConfig(AppConfig):
    name = "mutualis.legality"
    label = "legality"
    verbose_name = _("State exchanges")

    def ready(self) -> None:
        from mutualis.core.files import register_owner

        from .models import ACT_OWNER_KIND
        from .selectors import can_read_act_file

        # An act's files and its package: read by the member's legality agents and
        # senders only, under its path (``/o/<slug>/legality/files/…``).
        register_owner(ACT_OWNER_KIND, can_read=can_read_act_file)
        # The return channel's raw messages: kept as evidence, served to no one.
        from .models import INBOUND_OWNER_KIND
        from .selectors import nobody_reads

        register_owner(INBOUND_OWNER_KIND, can_read=nobody_reads)

        # The accounting flows: a flow's files and acknowledgement (its accounting agents),
        # the gateway's raw returns (no one).
        from .pes.models import PES_INBOUND_OWNER_KIND, PES_OWNER_KIND
        from .pes.selectors import can_read_flow_file

        register_owner(PES_OWNER_KIND, can_read=can_read_flow_file)
        register_owner(PES_INBOUND_OWNER_KIND, can_read=_pes_inbound_reader)

        from . import publication, signals

        # Once an acknowledgement is committed, its stamped PDF and slip are made in the
        # background.
        signals.act_acknowledged.connect(
            publication.on_act_acknowledged, dispatch_uid="legality.stamp_acknowledged_act"
        )


def _pes_inbound_reader(request: object, stored_file: object) -> bool:
    """A flow's acknowledgement is read by the flow's accounting agents; quarantined
    returns by no one."""
    from .pes.selectors import can_read_acquit

    return can_read_acquit(request, stored_file)  # type: ignore[arg-type]
