"""GPUs for steps on GPU instance types: asked of the engine, refused when it has none, or
left out on request (``RunSettings.cpu_only``)."""

from __future__ import annotations

from collections.abc import Iterable

from ..engines.base import Engine
from ..errors import GpusUnavailable
from ..pipeline.model import Step
from ..pipeline.resources import instance_gpus
from .settings import RunSettings

CPU_ONLY_HINT = "or run them on CPU with --cpu-only (CIT_CPU_ONLY=1)"
GPU_ENGINE_HINT = (
    "install the NVIDIA Container Toolkit and register its runtime with Docker "
    "(nvidia-ctk runtime configure --runtime=docker)"
)


def gpu_steps(steps: Iterable[Step]) -> list[Step]:
    """The steps that run a container on an instance with GPUs."""
    return [s for s in steps if s.kind.runs_container and instance_gpus(s.instance) > 0]


def check_gpus(steps: Iterable[Step], settings: RunSettings, engine: Engine) -> None:
    """A ``GpusUnavailable`` when steps need GPUs the engine cannot give, unless the run is
    on CPU only; an engine that cannot tell (a host process) is not asked."""
    needing = gpu_steps(steps)
    if settings.cpu_only or not needing or engine.has_gpus() is not False:
        return
    first = needing[0]
    gpus = instance_gpus(first.instance)
    more = f" (and {len(needing) - 1} more)" if len(needing) > 1 else ""
    raise GpusUnavailable(
        f"step '{first.name}'{more} runs on {first.instance.type} with {gpus} GPU(s), but the "
        f"Docker engine has no GPUs (no 'nvidia' runtime, no CDI GPU devices); "
        f"{GPU_ENGINE_HINT}, {CPU_ONLY_HINT}"
    )


def cpu_only_note(step: Step) -> str | None:
    """The note a step on a GPU instance type gets in its log when it runs on CPU only."""
    gpus = instance_gpus(step.instance)
    if not gpus:
        return None
    return (
        f"[cit] runs on CPU only (--cpu-only): {step.instance.type} has {gpus} GPU(s), "
        "this container gets none and SM_NUM_GPUS=0"
    )
