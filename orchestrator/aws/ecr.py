"""ECR: a registry login for pulling an image, from the AWS credentials boto3 finds.

``docker pull`` of an ECR image needs a token (``aws ecr get-login-password``); cit asks ECR
for it (``get_authorization_token``) with boto3's usual credentials, in the image's region.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import PullError

ECR_HOST = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")

EcrClientFactory = Callable[[str], Any]
"""Makes an ECR client for a region (boto3's ``client("ecr", region_name=...)``)."""


@dataclass(frozen=True)
class RegistryLogin:
    """A user name and password for one registry; the password never shows in a repr."""

    registry: str
    username: str
    password: str = field(repr=False)

    def auth_config(self) -> dict[str, str]:
        """The ``auth_config`` the Docker API takes for a pull."""
        return {"username": self.username, "password": self.password}


def ecr_host(ref: str) -> re.Match[str] | None:
    """The ECR registry host of an image reference (account and region as groups), or None."""
    host, slash, _ = ref.partition("/")
    return ECR_HOST.match(host) if slash else None


def ecr_login(ref: str, make_client: EcrClientFactory | None = None) -> RegistryLogin | None:
    """A login for ``ref``'s ECR registry; None when ``ref`` is not an ECR image. A
    ``PullError`` when ECR gives no token (no credentials, no access)."""
    host = ecr_host(ref)
    if host is None:
        return None
    account, region = host.group(1), host.group(2)
    client = (make_client or _ecr_client)(region)
    try:
        answer = client.get_authorization_token(registryIds=[account])
        token = answer["authorizationData"][0]["authorizationToken"]
        username, _, password = base64.b64decode(token).decode().partition(":")
    except Exception as exc:  # boto's errors, or an answer without a token
        raise PullError(
            ref,
            f"ECR gave no login for {host.group(0)} with the AWS credentials in use "
            f"({_first_line(exc)}); check 'aws sts get-caller-identity' and the "
            "ecr:GetAuthorizationToken permission",
            unreachable=False,
        ) from None
    return RegistryLogin(host.group(0), username, password)


def _ecr_client(region: str) -> Any:
    import boto3  # deferred: boto3 costs ~0.3 s, paid only when an ECR image is pulled

    return boto3.client("ecr", region_name=region)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
