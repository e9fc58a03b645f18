"""Where a release record's image is: by its relative path, else by its unique file name under the release.

Copies of the published release differ. Records may name "images/11.jpg" relative to their JSON file or to
the release folder; or only "11.jpg", with the images in a subfolder; a Hugging Face snapshot keeps every
file as a link into the cache's `blobs/` folder; some copies ship the images in a zip archive beside the
JSON. The relative path is tried first; then a file of that name anywhere under the release (an archive
member counting as a file), which must be unique: two files named "11.jpg" are an error for that record,
never a guess. Nothing outside the release folder is ever read (a Hugging Face snapshot may also read the
cache's blobs, which its links point to).
"""

from __future__ import annotations

import os
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final, Literal

from spinebench.sources._release_text import Rejected

MAX_IMAGE_BYTES: Final = 32 << 20  # a standardised radiograph is well under 1 MB; 32 MB is not an image
Resolution = Literal["path", "file name", "archive"]


@dataclass(frozen=True, slots=True)
class ReleaseImage:
    """An image file of the release, or a member of a zip archive in it; `how` says how it was found."""

    path: Path
    member: str | None = None
    how: Resolution = "path"

    def read_bytes(self) -> bytes:
        if self.member is None:
            size = self.path.stat().st_size
            if size > MAX_IMAGE_BYTES:
                raise Rejected("image too large", f"{size:,} bytes (at most {MAX_IMAGE_BYTES:,})")
            return self.path.read_bytes()
        try:
            with zipfile.ZipFile(self.path) as archive:
                info = archive.getinfo(self.member)
                if info.file_size > MAX_IMAGE_BYTES:
                    raise Rejected(
                        "image too large", f"{info.file_size:,} bytes (at most {MAX_IMAGE_BYTES:,})"
                    )
                return archive.read(info)
        except (zipfile.BadZipFile, KeyError, RuntimeError, NotImplementedError) as error:
            raise OSError(f"archive member {self.member} cannot be read ({error})") from error

    def __str__(self) -> str:
        return f"{self.path.name}:{self.member}" if self.member else str(self.path)


class ImageResolver:
    """Resolves records' image paths inside one release folder; the file-name index is built on first need."""

    def __init__(self, root: Path) -> None:
        self.root = root
        # A Hugging Face snapshot (…/snapshots/<revision>) links every file into …/blobs.
        self._allowed: tuple[Path, ...] = (root,)
        if root.parent.name == "snapshots":
            self._allowed = (root, root.parent.parent / "blobs")
        self._files: dict[str, list[Path]] | None = None
        self._members: dict[str, list[tuple[Path, str]]] | None = None

    def resolve(self, raw: str, json_dir: Path) -> ReleaseImage:
        relative = raw.replace("\\", "/")  # written on Windows
        if relative.startswith("/") or re.match(r"^[A-Za-z]:/", relative):
            raise Rejected("path escapes release", f"image path {raw!r} is absolute; it must be relative")
        inside: list[Path] = []
        escapes = False  # a link or ".." that reaches a file outside, or no way to stay inside at all
        for base in (json_dir, self.root):
            try:
                candidate = (base / relative).resolve()
                if not self._is_inside(candidate):
                    escapes = escapes or candidate.exists()
                    continue
                inside.append(Path(os.path.normpath(base / relative)))
                if candidate.is_file():
                    return ReleaseImage(candidate)
            except (OSError, ValueError, RuntimeError) as error:  # NUL byte, name too long, symlink loop
                reason = f"image path {raw!r} cannot be resolved ({error})"
                raise Rejected("bad image path", reason) from error
        if escapes or not inside:
            # Said only of a path that really leads out: "../images/x.png" from evaluation/ that is missing
            # inside the release is "not found", not "outside".
            raise Rejected("path escapes release", f"image path {raw!r} leads outside the release folder")
        name = PurePosixPath(relative).name
        found = self._by_name(raw, name)
        if found is not None:
            return found
        looked = sorted({path.relative_to(self.root).as_posix() for path in inside})
        raise Rejected(
            "image not found",
            f"image {raw!r} not found (looked for {' and '.join(looked)}, and for a file named {name!r} "
            "anywhere in the release and its zip archives)",
        )

    def _is_inside(self, path: Path) -> bool:
        return any(path.is_relative_to(allowed) for allowed in self._allowed)

    def _by_name(self, raw: str, name: str) -> ReleaseImage | None:
        if not name or name in (".", ".."):
            return None
        files = self._file_index().get(name, [])
        members = self._member_index().get(name, [])
        if len(files) + len(members) > 1:
            places = [p.relative_to(self.root).as_posix() for p in files[:3]]
            places += [f"{a.relative_to(self.root).as_posix()}:{m}" for a, m in members[: 3 - len(places)]]
            raise Rejected(
                "ambiguous image",
                f"image {raw!r} is not at its path, and {len(files) + len(members)} files in the release "
                f"are named {name!r} ({', '.join(places)}, ...); rename them or give the record's path",
            )
        if files:
            return ReleaseImage(files[0], how="file name")
        if members:
            archive, member = members[0]
            return ReleaseImage(archive, member, how="archive")
        return None

    def _file_index(self) -> dict[str, list[Path]]:
        if self._files is None:
            index: dict[str, list[Path]] = defaultdict(list)
            # followlinks=False: a linked folder is never entered, so no loop and no way out of the release.
            for folder, _dirs, names in os.walk(self.root, onerror=lambda error: None):
                for file_name in names:
                    path = Path(folder) / file_name
                    try:
                        target = path.resolve()
                        if self._is_inside(target) and target.is_file():
                            index[file_name].append(target)
                    except (OSError, RuntimeError):  # a symlink loop among the files
                        continue
            self._files = {name: sorted(set(paths)) for name, paths in index.items()}
        return self._files

    def _member_index(self) -> dict[str, list[tuple[Path, str]]]:
        if self._members is None:
            index: dict[str, list[tuple[Path, str]]] = defaultdict(list)
            archives = sorted(p for paths in self._file_index().values() for p in paths if _is_zip_name(p))
            for archive in archives:
                try:
                    with zipfile.ZipFile(archive) as opened:
                        members = [info.filename for info in opened.infolist() if not info.is_dir()]
                except (OSError, zipfile.BadZipFile):
                    continue  # not an archive after all: its records are reported as not found
                for member in members:
                    if member.startswith("__MACOSX/"):  # resource forks macOS adds to archives
                        continue
                    index[PurePosixPath(member).name].append((archive, member))
            self._members = dict(index)
        return self._members


def _is_zip_name(path: Path) -> bool:
    return path.suffix.lower() == ".zip"
