"""The names extraction needs from the taxonomy, as plain constants.

This is the one module of the extractor that imports from the rest of spinebench. The exported harness
files carry the extractor without spinebench: there, this module is written out as the literal values of
`__all__` (see `_standalone.py`), so every other module of this package may use only the standard library.
"""

from __future__ import annotations

from typing import Final

from spinebench.taxonomy import DISEASES, HEALTHY, LETTERS

__all__ = ["LETTERS", "OPTION_SYNONYMS"]

# Single words that name a disease in a label file but are ordinary words in a sentence ("the line is
# straight"): an answer naming them is left to the judge rather than read as that option.
_TOO_COMMON: Final = frozenset({"straight", "sigmoid"})

# Lowercased option text -> other names an answer may use for it (also lowercased).
OPTION_SYNONYMS: Final[dict[str, tuple[str, ...]]] = {
    **{
        disease.name.lower(): tuple(
            sorted(synonym.lower() for synonym in disease.synonyms if synonym.lower() not in _TOO_COMMON)
        )
        for disease in DISEASES
        if any(synonym.lower() not in _TOO_COMMON for synonym in disease.synonyms)
    },
    HEALTHY.lower(): ("normal",),
}
