"""S3 URIs as users write them: ``s3://bucket/key``, parsed and checked without AWS."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import S3UriError

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP_LIKE = re.compile(r"\d+\.\d+\.\d+\.\d+")


@dataclass(frozen=True)
class S3Uri:
    """``s3://bucket/key``; ``key`` is '' for the whole bucket, a prefix or one object's key."""

    bucket: str
    key: str = ""

    @classmethod
    def parse(cls, text: str) -> S3Uri:
        """Parse ``text``; ``S3UriError`` (a ``ValueError``) says in one line why it is bad."""
        if not isinstance(text, str):
            raise S3UriError(f"not an S3 URI: {text!r} (expected text like s3://bucket/prefix)")
        if text != text.strip():
            raise S3UriError(f"not a valid S3 URI {text!r}: it has spaces around it")
        if text[:5].lower() != "s3://":
            raise S3UriError(f"not a valid S3 URI {text!r}: it must start with s3://")
        bucket, _, key = text[5:].partition("/")
        if not bucket:
            raise S3UriError(f"not a valid S3 URI {text!r}: the bucket name is missing")
        if not _BUCKET.fullmatch(bucket) or ".." in bucket or _IP_LIKE.fullmatch(bucket):
            raise S3UriError(
                f"not a valid S3 URI {text!r}: bucket name {bucket!r} must be 3-63 lowercase "
                "letters, digits, dots or hyphens, starting and ending with a letter or digit"
            )
        return cls(bucket=bucket, key=key)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def is_s3_text(value: object) -> bool:
    """Whether ``value`` is written as an S3 URI (well formed or not): it starts with 's3:'."""
    return isinstance(value, str | Path) and str(value)[:3].lower() == "s3:"


def s3_uri(value: str) -> str:
    """``value`` if it is a well-formed S3 URI; else a ``ValueError`` saying why not."""
    S3Uri.parse(value)
    return value
