"""Synthetic spine-like images and fake copies of the source datasets in their native layouts.

Everything here is clearly marked synthetic; it serves tests, the bundled sample and the demo.
"""

from spinebench.synth._sample import write_sample_benchmark
from spinebench.synth._sources import SOURCE_FOLDERS, write_synthetic_sources
from spinebench.synth.phantoms import PhantomSpec, render_phantom

__all__ = [
    "SOURCE_FOLDERS",
    "PhantomSpec",
    "render_phantom",
    "write_sample_benchmark",
    "write_synthetic_sources",
]
