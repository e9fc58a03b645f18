"""Synthetic spine-like images for tests, the bundled sample and the demo. Clearly marked as synthetic."""

from spinebench.synth.phantoms import PhantomSpec, render_phantom

__all__ = ["PhantomSpec", "render_phantom"]
