"""What is safe to keep and to say about a file: its name, its type, how it is served."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

MAX_FILENAME = 255
OCTET_STREAM = "application/octet-stream"
# Raster images a browser may show inline; each is recognised by its first bytes, never by
# what the client claimed. SVG is not here: it is a document that can run script.
_SIGNATURES: tuple[tuple[str, bytes, bytes | None], ...] = (
    ("image/png", b"\x89PNG\r\n\x1a\n", None),
    ("image/jpeg", b"\xff\xd8\xff", None),
    ("image/gif", b"GIF87a", None),
    ("image/gif", b"GIF89a", None),
    ("image/webp", b"RIFF", b"WEBP"),
)
INLINE_TYPES = frozenset(media for media, _, _ in _SIGNATURES)
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}$")


def clean_filename(raw: str) -> str:
    """The last path segment, without control or format characters, at most 255 characters
    (the extension kept); never empty, never `.` or `..`."""
    name = re.split(r"[/\\]", raw)[-1]
    name = "".join(
        " " if unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"} else ch
        for ch in unicodedata.normalize("NFC", name)
    ).strip()
    name = name.lstrip(".").strip() or "file"
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        ext = ext[:16] if dot and stem else ""
        name = name[: MAX_FILENAME - len(ext) - 1] + "." + ext if ext else name[:MAX_FILENAME]
    return name


def sniff_image(head: bytes) -> str | None:
    for media, prefix, marker in _SIGNATURES:
        if head.startswith(prefix) and (marker is None or head[8:12] == marker):
            return media
    return None


def recorded_type(declared: str, head: bytes) -> str:
    """The type kept for the file: an image type only when the bytes are that image; else the
    client's well-formed type (informational: it is not what downloads are served as)."""
    image = sniff_image(head)
    if image is not None:
        return image
    media = declared.split(";", 1)[0].strip().lower()
    if not _MEDIA_TYPE.match(media) or media in INLINE_TYPES or media.startswith("image/svg"):
        return OCTET_STREAM
    return media


def served_type(recorded: str) -> str:
    """What a download is labelled: a checked image type, or opaque bytes (HTML, scripts and
    executables are never labelled as what they are)."""
    return recorded if recorded in INLINE_TYPES else OCTET_STREAM


def content_disposition(filename: str, *, inline: bool) -> str:
    """RFC 6266: an ASCII fallback name and the exact name as UTF-8 in filename*."""
    fallback = "".join(
        ch if 0x20 <= ord(ch) < 0x7F and ch not in '"\\%' else "_" for ch in filename
    )
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
