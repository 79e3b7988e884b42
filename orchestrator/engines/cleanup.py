"""Finding and removing containers that a cit process left behind."""

from __future__ import annotations

from .base import ContainerInfo, Engine
from .owner import Owner, owner_alive
from .spec import KEEP_LABEL, KEEP_ON_FAILURE, MANAGED_LABEL, OWNER_LABEL


def is_orphan(owner: str) -> bool:
    """True if ``owner`` ('host:pid') is a cit process of this machine that has ended.

    Containers of other machines sharing the engine are never judged from here.
    """
    host, _, pid = owner.rpartition(":")
    return pid.isdigit() and owner_alive(Owner(host=host, pid=int(pid))) is False


def sweep_orphans(
    engine: Engine, *, include_live: bool = False, include_kept: bool = False
) -> list[str]:
    """Remove cit containers whose cit process has ended (or all of them), then the private
    networks of such runs' jobs on several instances; returns the containers' names. A
    container kept for a look inside (``--keep-on-failure``) that has stopped stays unless
    ``include_kept`` (``cit clean``)."""
    removed = []
    for info in engine.list_containers({MANAGED_LABEL: "true"}):
        if is_kept(info) and not include_kept:
            continue
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


def is_kept(info: ContainerInfo) -> bool:
    """A stopped container its run kept on failure."""
    return info.labels.get(KEEP_LABEL) == KEEP_ON_FAILURE and info.status != "running"
