"""One folder's file names, listed once, surviving what real dataset copies hold.

A copied or synced dataset may hold symlink loops, dangling links and entries without read permission. None
of these may abort a catalogue of 100,000 images: such an entry is kept aside with its reason, so that the
record naming it is skipped and reported ("cannot be read: symlink loop") rather than crashing the build.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class FolderListing:
    """The regular files (or links to one) in a folder, and the entries that could not be examined."""

    files: frozenset[str] = frozenset()
    unreadable: dict[str, str] = field(default_factory=dict)
    folder_problem: str | None = None  # the folder itself could not be listed

    def __contains__(self, name: object) -> bool:
        return name in self.files

    def missing_reason(self, name: str) -> str:
        """Why `name` is not a usable file here: "not found", or what stopped it being read."""
        if name in self.unreadable:
            return f"cannot be read ({self.unreadable[name]})"
        if self.folder_problem is not None:
            return f"cannot be read (its folder: {self.folder_problem})"
        return "not found"


def list_folder(folder: Path) -> FolderListing:
    """The listing of `folder`; a missing folder is an empty listing, an unreadable one says why."""
    files: set[str] = set()
    unreadable: dict[str, str] = {}
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                try:
                    if entry.is_file():
                        files.add(entry.name)
                except OSError as error:  # ELOOP from a symlink loop, EACCES
                    unreadable[entry.name] = _reason(error)
    except (FileNotFoundError, NotADirectoryError):
        return FolderListing()
    except OSError as error:  # the folder is itself a symlink loop, or not readable
        return FolderListing(folder_problem=_reason(error))
    return FolderListing(frozenset(files), unreadable)


def _reason(error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return "symlink loop"
    return error.strerror or str(error)
