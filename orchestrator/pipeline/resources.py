"""Container limits from a step's instance settings, bounded by what this machine has."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model import Instance

GIB = 1024**3

# vCPUs and memory (GiB) of common SageMaker instance types.
INSTANCE_TYPES: dict[str, tuple[int, int]] = {
    "ml.t3.medium": (2, 4),
    "ml.t3.large": (2, 8),
    "ml.t3.xlarge": (4, 16),
    "ml.m5.large": (2, 8),
    "ml.m5.xlarge": (4, 16),
    "ml.m5.2xlarge": (8, 32),
    "ml.m5.4xlarge": (16, 64),
    "ml.m5.12xlarge": (48, 192),
    "ml.m5.24xlarge": (96, 384),
    "ml.c5.large": (2, 4),
    "ml.c5.xlarge": (4, 8),
    "ml.c5.2xlarge": (8, 16),
    "ml.c5.4xlarge": (16, 32),
    "ml.c5.9xlarge": (36, 72),
    "ml.r5.large": (2, 16),
    "ml.r5.xlarge": (4, 32),
    "ml.r5.2xlarge": (8, 64),
    "ml.g4dn.xlarge": (4, 16),
    "ml.g4dn.2xlarge": (8, 32),
    "ml.g4dn.4xlarge": (16, 64),
    "ml.g4dn.8xlarge": (32, 128),
    "ml.g4dn.12xlarge": (48, 192),
    "ml.g4dn.16xlarge": (64, 256),
    "ml.g5.xlarge": (4, 16),
    "ml.g5.2xlarge": (8, 32),
    "ml.g5.4xlarge": (16, 64),
    "ml.g5.8xlarge": (32, 128),
    "ml.g5.12xlarge": (48, 192),
    "ml.g5.16xlarge": (64, 256),
    "ml.g5.24xlarge": (96, 384),
    "ml.g5.48xlarge": (192, 768),
    "ml.g6.xlarge": (4, 16),
    "ml.g6.2xlarge": (8, 32),
    "ml.g6.4xlarge": (16, 64),
    "ml.g6.8xlarge": (32, 128),
    "ml.g6.12xlarge": (48, 192),
    "ml.g6.16xlarge": (64, 256),
    "ml.g6.24xlarge": (96, 384),
    "ml.g6.48xlarge": (192, 768),
    "ml.p3.2xlarge": (8, 61),
    "ml.p3.8xlarge": (32, 244),
    "ml.p3.16xlarge": (64, 488),
    "ml.p3dn.24xlarge": (96, 768),
    "ml.p4d.24xlarge": (96, 1152),
    "ml.p4de.24xlarge": (96, 1152),
    "ml.p5.48xlarge": (192, 2048),
}

GPU_FAMILY = re.compile(r"ml\.[gp]\d")
"""Instance types with NVIDIA GPUs: ml.g4dn, ml.g5, ml.p3, …"""

# NVIDIA GPUs of the GPU instance types (ml.g*, ml.p*); every other type has none. Inferentia
# and Trainium types (ml.inf*, ml.trn*) have Neuron devices, not GPUs: cit gives them none.
INSTANCE_GPUS: dict[str, int] = {
    "ml.g4dn.xlarge": 1,
    "ml.g4dn.2xlarge": 1,
    "ml.g4dn.4xlarge": 1,
    "ml.g4dn.8xlarge": 1,
    "ml.g4dn.12xlarge": 4,
    "ml.g4dn.16xlarge": 1,
    "ml.g5.xlarge": 1,
    "ml.g5.2xlarge": 1,
    "ml.g5.4xlarge": 1,
    "ml.g5.8xlarge": 1,
    "ml.g5.12xlarge": 4,
    "ml.g5.16xlarge": 1,
    "ml.g5.24xlarge": 4,
    "ml.g5.48xlarge": 8,
    "ml.g6.xlarge": 1,
    "ml.g6.2xlarge": 1,
    "ml.g6.4xlarge": 1,
    "ml.g6.8xlarge": 1,
    "ml.g6.12xlarge": 4,
    "ml.g6.16xlarge": 1,
    "ml.g6.24xlarge": 4,
    "ml.g6.48xlarge": 8,
    "ml.p3.2xlarge": 1,
    "ml.p3.8xlarge": 4,
    "ml.p3.16xlarge": 8,
    "ml.p3dn.24xlarge": 8,
    "ml.p4d.24xlarge": 8,
    "ml.p4de.24xlarge": 8,
    "ml.p5.48xlarge": 8,
}

_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": GIB}


def parse_memory(text: str) -> int:
    """Bytes in '512m', '2g', '1.5GiB', '1048576'."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?\s*", text.lower())
    if not match:
        raise ValueError(f"not a memory size: {text!r}; use e.g. 512m, 2g")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def host_cpus() -> int:
    return os.cpu_count() or 1


def host_memory_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def instance_gpus(instance: Instance) -> int:
    """The GPUs of an instance: ``instance.gpus`` when given, else its type's (0 for a CPU type)."""
    if instance.gpus is not None:
        return instance.gpus
    return INSTANCE_GPUS.get(instance.type, 0)


def limits(
    instance: Instance, cpus_available: int, memory_available: int
) -> tuple[float | None, int | None]:
    """(cpus, memory bytes) for the container; None where nothing is known to limit."""
    known = INSTANCE_TYPES.get(instance.type)
    cpus: float | None = (
        instance.cpus if instance.cpus is not None else (known[0] if known else None)
    )
    memory: int | None = (
        parse_memory(instance.memory) if instance.memory else (known[1] * GIB if known else None)
    )
    if cpus is not None:
        cpus = min(cpus, float(cpus_available))
    if memory is not None:
        memory = min(memory, memory_available)
    return cpus, memory
