"""Refusals: a reply that declines to answer ("As an AI, I cannot provide a diagnosis")."""

from __future__ import annotations

import re
from typing import Final

from spinebench.extract._letters import _lower

_REFUSAL: Final = re.compile(
    r"i(?<![a-z]i)(?:\s+am|['’]m)\s+(?:unable|not\s+(?:able|qualified|in\s+a\s+position|permitted|allowed))\b"
    r"|i(?<![a-z]i)\s+(?:can(?:no|['’])t|could\s*n['’]t|could\s+not|will\s+not|won['’]t|must\s+decline"
    r"|do\s+not\s+feel\s+comfortable|don['’]t\s+feel\s+comfortable)\s+(?:[\w'’]+\s+){0,2}?(?:provide|give"
    r"|offer|make|render|diagnose|interpret|analy[sz]e|assess|evaluate|view|see|read|access|process|help"
    r"|assist|answer|comply|determine|identify|choose|select)"
    r"|as\s+an?\s+(?:ai|artificial\s+intelligence|(?:large\s+)?language\s+model)\b"
    r"|consult\s+(?:with\s+)?(?:a|an|your)\s+(?:(?:qualified|licensed|board[-\s]certified|medical)\s+)*"
    r"(?:medical\s+professional|health\s*care\s+(?:professional|provider)|doctor|physician|radiologist"
    r"|specialist|clinician)"
    r"|not\s+(?:able|qualified|permitted|allowed)\s+to\s+(?:provide|give|offer|make|diagnose|interpret)"
    r"|i['’]m\s+sorry,?\s+but\b|i\s+apologi[sz]e,?\s+but\b"
    r"|我无法|无法提供|不能提供"
)


def is_refusal(response: str) -> bool:
    """Whether the response declines to answer (e.g. "As an AI, I cannot provide a diagnosis")."""
    return bool(_REFUSAL.search(_lower(response)))
