"""The image bytes as sent to a model, kept on disk by the source image's sha256 and the encoding settings.

Turning a benchmark PNG into the JPEG a model is sent (`image_as_sent`) costs more CPU than everything else
done for a question; a benchmark is evaluated with many models, so each image is converted once per machine
and read back afterwards. The key holds the source's content hash, the longest side, the JPEG quality and the
Pillow version (another libjpeg could encode other bytes), so a hit is exactly what a fresh conversion on this
machine would send. Files are written whole and renamed into place: a crash never leaves half a JPEG.

The folder is `$SPINEBENCH_IMAGE_CACHE`, else `$XDG_CACHE_HOME/spinebench/as-sent` (`~/.cache/...`);
`SPINEBENCH_IMAGE_CACHE=off` turns the cache off.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

import PIL

CACHE_ENV = "SPINEBENCH_IMAGE_CACHE"
_JPEG_MAGIC = b"\xff\xd8\xff"


def default_image_cache() -> Path | None:
    """Where converted images are kept: `$SPINEBENCH_IMAGE_CACHE` (`off`: nowhere), else the user cache."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off", "none", "0") else Path(chosen).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "spinebench" / "as-sent"


class AsSentImageCache:
    """JPEGs by source sha256 for one (max_side, quality); a folder that cannot be used is simply not used."""

    def __init__(self, root: Path, max_side: int, quality: int) -> None:
        self.folder = root / f"jpeg-side{max_side}-q{quality}-pillow{PIL.__version__}"
        self._prefix = str(self.folder) + os.sep  # string joins: this runs once per question
        self._writable = True

    def path(self, source_sha256: str) -> Path:
        return Path(self._file(source_sha256))

    def _file(self, source_sha256: str) -> str:
        return f"{self._prefix}{source_sha256[:2]}{os.sep}{source_sha256}.jpg"

    def get(self, source_sha256: str) -> bytes | None:
        try:
            with open(self._file(source_sha256), "rb") as handle:
                data = handle.read()
        except OSError:  # not there yet (or unreadable: converted again)
            return None
        return data if data.startswith(_JPEG_MAGIC) else None

    def put(self, source_sha256: str, jpeg: bytes) -> None:
        if not self._writable:
            return
        target = self.path(source_sha256)
        partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(jpeg)
            os.replace(partial, target)
        except OSError:
            # A read-only or full disk costs speed, never an answer: stop trying for this run.
            self._writable = False
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
