"""Finding and removing containers that a cit process left behind."""

from __future__ import annotations

import socket

from .base import Engine
from .owner import pid_alive
from .spec import MANAGED_LABEL, OWNER_LABEL


def is_orphan(owner: str) -> bool:
    """True if ``owner`` ('host:pid') is a cit process of this machine that has ended.

    Containers of other machines sharing the engine are never judged from here.
    """
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    return not pid_alive(int(pid))


def sweep_orphans(engine: Engine, *, include_live: bool = False) -> list[str]:
    """Remove cit containers whose cit process has ended (or all of them), then the private
    networks of such runs' jobs on several instances; returns the containers' names."""
    removed = []
    for info in engine.list_containers({MANAGED_LABEL: "true"}):
        if include_live or is_orphan(info.labels.get(OWNER_LABEL, "")):
            engine.remove_container(info.name)
            removed.append(info.name)
    sweep_orphan_networks(engine, include_live=include_live)
    return removed


def sweep_orphan_networks(engine: Engine, *, include_live: bool = False) -> list[str]:
    """Remove cit networks whose cit process has ended (or all of them); their names."""
    removed = []
    for info in engine.list_networks({MANAGED_LABEL: "true"}):
        if include_live or is_orphan(info.labels.get(OWNER_LABEL, "")):
            engine.remove_network(info.name)
            removed.append(info.name)
    return removed
