"""All four synthetic source datasets side by side, in the folder names the docs and the demo use."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from spinebench.errors import SpineBenchError
from spinebench.synth.buu import write_synthetic_buu
from spinebench.synth.csxa import write_synthetic_csxa
from spinebench.synth.rsna_lumbar import write_synthetic_rsna_lumbar
from spinebench.synth.vindr import write_synthetic_vindr

SOURCE_FOLDERS: Final = {
    "vindr": "vindr-spinexr",
    "rsna": "rsna-2024-lumbar",
    "csxa": "csxa",
    "buu": "buu-lspine",
}


def write_synthetic_sources(out: Path, *, seed: int = 0, scale: int = 1) -> dict[str, Path]:
    """Writes small fake copies of the four datasets in their native layouts, `scale` times the default."""
    if out.exists() and not out.is_dir():
        raise SpineBenchError(f"{out} exists and is not a folder; choose a new folder")
    out.mkdir(parents=True, exist_ok=True)
    return {
        "vindr": write_synthetic_vindr(out / SOURCE_FOLDERS["vindr"], seed=seed, images=24 * scale),
        "rsna": write_synthetic_rsna_lumbar(out / SOURCE_FOLDERS["rsna"], seed=seed, studies=6 * scale),
        "csxa": write_synthetic_csxa(out / SOURCE_FOLDERS["csxa"], seed=seed, images=16 * scale),
        "buu": write_synthetic_buu(out / SOURCE_FOLDERS["buu"], seed=seed, patients=8 * scale),
    }
