"""Reading a configuration document from a request body: up to SEMROUTE_MAX_CONFIG_BYTES, gzip or not.

Only the config endpoint reads its body this way (Django's DATA_UPLOAD_MAX_MEMORY_SIZE still bounds
every other request); a gzip body is bounded after decompression too, so a gzip bomb is a 413.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from routing.exceptions import ConfigTooLarge, MalformedBody, UnsupportedEncoding

READ_CHUNK_BYTES = 1 << 20


def _too_large(limit: int, what: str) -> ConfigTooLarge:
    return ConfigTooLarge(
        f"The configuration document is larger than {limit} bytes{what} "
        "(SEMROUTE_MAX_CONFIG_BYTES); split it or raise the limit.",
        details={"max_bytes": limit},
    )


def _read_bounded(request: HttpRequest, limit: int) -> bytes:
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit, "")
    chunks, size = [], 0
    while chunk := request.read(min(READ_CHUNK_BYTES, limit + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise _too_large(limit, "")
    return b"".join(chunks)


def _gunzip_bounded(body: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        document = inflater.decompress(body, limit + 1)
    except zlib.error:
        raise MalformedBody("The request body is not valid gzip.") from None
    if len(document) > limit or inflater.unconsumed_tail:
        raise _too_large(limit, " once decompressed")
    if not inflater.eof:
        raise MalformedBody("The gzip request body is truncated.")
    return document


def config_document_read(request: HttpRequest) -> Any:
    """The request's JSON document (any JSON value; the caller checks its shape)."""
    limit = settings.SEMROUTE_MAX_CONFIG_BYTES
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip", ""):
        raise UnsupportedEncoding(
            f"Content-Encoding {encoding!r} is not supported; send identity or gzip.",
            details={"supported": ["identity", "gzip"]},
        )
    body = _read_bounded(request, limit)
    if encoding == "gzip":
        body = _gunzip_bounded(body, limit)
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise MalformedBody("The request body is not valid JSON.") from None
