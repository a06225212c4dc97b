"""Bring a stored branch in line with the configuration it is started with."""

from __future__ import annotations

from booth_server.core.model import BranchState


def reconcile(stored: BranchState, template: BranchState) -> BranchState:
    """Keep live facts (connections, sessions, queue) and take names, labels and capacities
    from the configuration. Booths and officers that left the configuration stay while they
    still hold a session, so nothing in flight is lost."""
    stored.name = template.name
    for booth_id, booth in template.booths.items():
        current = stored.booths.get(booth_id)
        if current is None:
            stored.booths[booth_id] = booth
        else:
            current.label = booth.label
    for officer_id, officer in template.officers.items():
        current_officer = stored.officers.get(officer_id)
        if current_officer is None:
            stored.officers[officer_id] = officer
        else:
            current_officer.name = officer.name
            current_officer.capacity = officer.capacity
            current_officer.auto_accept = officer.auto_accept
    for booth_id in list(stored.booths):
        if booth_id not in template.booths and stored.booths[booth_id].session_id is None:
            del stored.booths[booth_id]
    for officer_id in list(stored.officers):
        current_officer = stored.officers[officer_id]
        if officer_id not in template.officers and current_officer.load == 0:
            del stored.officers[officer_id]
    return stored
