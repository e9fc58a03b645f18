"""The manifest's file list (name -> sha256), held small: every run and report opens the benchmark, and the
full benchmark lists 65k images.

Images are named by their content (`images/ab/<sha256><ext>`, as BenchmarkWriter stores them), so for them the
name already says the digest: they are kept as 32 raw bytes each in one sorted block (with a byte naming the
extension) and found through a table of where each 16-bit prefix starts, so no Python object per file
outlives the manifest's parsing. Any other entry (the question table, extra files, an image named otherwise)
sits in a plain dict.
"""

from __future__ import annotations

import bisect
import re
from array import array
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

from spinebench.errors import BenchmarkError

_DIGEST: Final = 32
_HEX: Final = 2 * _DIGEST
_PREFIXES: Final = 1 << 16
_LOWER_HEX: Final = re.compile(r"[0-9a-f]{64}")


class FileList:
    """Membership and expected sha256 of every file a manifest lists; raises BenchmarkError on a malformed
    entry, naming it."""

    def __init__(self, entries: Mapping[str, Any], manifest: Path, images_dir: str) -> None:
        self._prefix = images_dir + "/"
        self._other: dict[str, bytes] = {}
        addressed: list[tuple[bytes, int]] = []
        extensions: dict[str, int] = {}
        for name, entry in entries.items():
            digest = _entry_digest(name, entry, manifest)
            if not _inside(name):
                raise BenchmarkError(f"{manifest}: the file {name!r} would lie outside the benchmark folder")
            extension = self._addressed_extension(name, digest)
            if extension is not None and len(extensions) < 256:
                addressed.append((digest, extensions.setdefault(extension, len(extensions))))
            else:
                self._other[name] = digest
        addressed.sort()
        self._digests = _Digests(b"".join(digest for digest, _ in addressed))
        # Where the digests of each 16-bit prefix start (512 KB whatever the size): a lookup reads one or two.
        starts = array("q", bytes(8 * (_PREFIXES + 1)))
        for digest, _ in addressed:
            starts[int.from_bytes(digest[:2], "big") + 1] += 1
        for prefix in range(_PREFIXES):
            starts[prefix + 1] += starts[prefix]
        self._starts = starts
        self._extension_codes = bytes(code for _, code in addressed)
        self._extensions = list(extensions)
        self.images = len(addressed) + sum(1 for name in self._other if name.startswith(self._prefix))

    def __len__(self) -> int:
        return len(self._digests) + len(self._other)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.sha256(name) is not None

    def sha256(self, name: str) -> bytes | None:
        """The digest the manifest lists for `name`; None when it lists no such file."""
        listed = self._other.get(name)
        if listed is not None:
            return listed
        parsed = self._parse(name)
        if parsed is None:
            return None
        digest, extension = parsed
        prefix = int.from_bytes(digest[:2], "big")
        at, end = self._starts[prefix], self._starts[prefix + 1]
        at = bisect.bisect_left(self._digests, digest, at, end)
        while at < end and self._digests[at] == digest:
            if self._extensions[self._extension_codes[at]] == extension:
                return digest
            at += 1
        return None

    def names(self) -> Iterator[str]:
        for at in range(len(self._digests)):
            digest = self._digests[at].hex()
            yield f"{self._prefix}{digest[:2]}/{digest}{self._extensions[self._extension_codes[at]]}"
        yield from self._other

    def _addressed_extension(self, name: str, digest: bytes) -> str | None:
        parsed = self._parse(name)
        return parsed[1] if parsed is not None and parsed[0] == digest else None

    def _parse(self, name: str) -> tuple[bytes, str] | None:
        """(digest, extension) of a content-addressed image name, else None."""
        start = len(self._prefix) + 3
        if not name.startswith(self._prefix) or name[start - 1 : start] != "/" or len(name) < start + _HEX:
            return None
        text = name[start : start + _HEX]
        if name[start - 3 : start - 1] != text[:2] or text != text.lower():
            return None
        try:
            digest = bytes.fromhex(text)
        except ValueError:
            return None
        extension = name[start + _HEX :]
        return (digest, extension) if "/" not in extension else None


class _Digests:
    """A block of 32-byte digests, read as a sequence (so that `bisect` can search it)."""

    def __init__(self, block: bytes) -> None:
        self._block = block

    def __len__(self) -> int:
        return len(self._block) // _DIGEST

    def __getitem__(self, index: int) -> bytes:
        return self._block[index * _DIGEST : (index + 1) * _DIGEST]


def _entry_digest(name: str, entry: Any, manifest: Path) -> bytes:
    """The entry's sha256 as raw bytes; it must be 64 lower-case hex digits (as hashlib writes them, and as
    files are checked against them) beside a size in bytes."""
    digest, size = (entry.get("sha256"), entry.get("bytes")) if isinstance(entry, dict) else (None, None)
    if not isinstance(digest, str) or isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise BenchmarkError(f"{manifest}: the entry of {name!r} is not a sha256 and a size")
    if not _LOWER_HEX.fullmatch(digest):
        raise BenchmarkError(f"{manifest}: the sha256 of {name!r} is not 64 lower-case hex digits")
    return bytes.fromhex(digest)


def _inside(name: str) -> bool:
    """Whether a listed name stays inside the benchmark folder: relative, no `..`, forward slashes only, no
    control characters (a NUL would fail every file call)."""
    parts = name.split("/")
    relative = bool(name) and not name.startswith("/") and ":" not in parts[0]
    plain = "\\" not in name and not any(ord(c) < 0x20 or ord(c) == 0x7F for c in name)
    return relative and plain and ".." not in parts
