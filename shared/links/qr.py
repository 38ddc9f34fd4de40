"""QR codes of a link's short URL, rendered with segno (pure Python, PNG and SVG, no Pillow)."""

from __future__ import annotations

import io
from enum import StrEnum
from typing import Final

import segno

MIN_SIZE: Final = 64
MAX_SIZE: Final = 2048
DEFAULT_SIZE: Final = 512
QUIET_ZONE: Final = 4  # modules of blank border the QR specification requires


class QrFormat(StrEnum):
    PNG = "png"
    SVG = "svg"


MEDIA_TYPES: Final = {QrFormat.PNG: "image/png", QrFormat.SVG: "image/svg+xml"}


def render_qr(content: str, fmt: QrFormat, size: int = DEFAULT_SIZE) -> bytes:
    """The QR code of `content` as PNG or SVG bytes, at most `size` pixels wide (never less
    than one pixel per module). Error correction level M (15%) at least: printed codes get
    scratched; segno raises it further when the symbol has room to spare."""
    qr = segno.make(content, error="m", micro=False)
    modules, _ = qr.symbol_size(scale=1, border=QUIET_ZONE)
    scale = max(1, size // modules)
    buffer = io.BytesIO()
    if fmt is QrFormat.PNG:
        qr.save(buffer, kind="png", scale=scale, border=QUIET_ZONE)
    else:
        qr.save(buffer, kind="svg", scale=scale, border=QUIET_ZONE, xmldecl=True, svgns=True)
    return buffer.getvalue()
