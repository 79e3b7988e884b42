"""The public names of orchestrator.engines, loaded on first use."""

from .base import ContainerOutcome as ContainerOutcome
from .base import Engine as Engine
from .docker_engine import DockerEngine as DockerEngine
from .docker_engine import connect as connect
from .fake_engine import FakeBehaviour as FakeBehaviour
from .fake_engine import FakeEngine as FakeEngine
from .process_engine import ProcessEngine as ProcessEngine
from .spec import ContainerSpec as ContainerSpec
from .spec import Mount as Mount
