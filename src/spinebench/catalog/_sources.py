"""Which source folders to read and how: the readers map that `build_catalog` takes, and the key."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from spinebench.catalog._build import Reader
from spinebench.errors import SpineBenchError
from spinebench.sources import CsxaColumns, read_buu, read_csxa, read_rsna_lumbar, read_vindr


@dataclass(frozen=True, slots=True)
class SourceFolders:
    """The dataset folders to catalogue (any subset) and the readers' options."""

    vindr: Path | None = None
    rsna: Path | None = None
    csxa: Path | None = None
    buu: Path | None = None
    min_severity: str = "Moderate"
    csxa_table: Path | None = None
    csxa_columns: CsxaColumns = field(default_factory=CsxaColumns)

    def given(self) -> list[Path]:
        return [folder for folder in (self.vindr, self.rsna, self.csxa, self.buu) if folder is not None]

    def readers(self) -> dict[str, tuple[Reader, Path]]:
        readers: dict[str, tuple[Reader, Path]] = {}
        if self.vindr:
            readers["vindr"] = (read_vindr, self.vindr)
        if self.rsna:
            readers["rsna"] = (partial(read_rsna_lumbar, min_severity=self.min_severity), self.rsna)
        if self.csxa:
            csxa = partial(read_csxa, table=self.csxa_table, columns=self.csxa_columns)
            readers["csxa"] = (csxa, self.csxa)
        if self.buu:
            readers["buu"] = (read_buu, self.buu)
        if not readers:
            raise SpineBenchError("give at least one source: --vindr, --rsna, --csxa or --buu")
        return readers

    def synthetic(self) -> bool:
        """Whether any folder is one `spinebench synth` wrote (its README.txt starts with SYNTHETIC)."""
        for folder in self.given():
            marker = folder / "README.txt"
            if marker.is_file() and marker.read_text(errors="replace").startswith("SYNTHETIC"):
                return True
        return False


def default_key_file() -> Path:
    # Outside the catalogue on purpose: a shared catalogue must not carry the key to its own pseudonyms.
    configured = os.environ.get("SPINEBENCH_KEY_FILE")
    return Path(configured) if configured else Path.home() / ".config" / "spinebench" / "pseudonym.key"


def load_key(key_file: Path | None) -> bytes:
    """The pseudonymisation key from `key_file`, else the user's default key file (created once)."""
    path = key_file or default_key_file()
    if key_file is None and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created private from the first byte; if two builds race, the loser reads the winner's key.
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(32))
    try:
        key = path.read_bytes().strip()
    except OSError as error:
        raise SpineBenchError(f"{path}: cannot read the key file ({error.strerror})") from error
    if len(key) < 16:
        raise SpineBenchError(f"{path}: a pseudonymisation key needs at least 16 bytes")
    return key
