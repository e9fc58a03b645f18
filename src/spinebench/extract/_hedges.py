"""Hedges and named alternatives: wording that keeps a second option open, so the rules give no letter.

Two scopes. Inside a letter set ("A or B", "B/C"), `or` and `either` hedge. Over the reply's conclusion (from
the unit that gives the answer to the end, across punctuation and line breaks), wording such as "or
possibly", "but could be", "either ... or", "vs", "and/or", "alternatively", "second choice", "cannot be
excluded" or "less likely" hedges too: "I think it's B but could be C", "Answer: B\\nAlternatively D". Earlier
reasoning is not read for hedges: ruling options out on the way is how a differential diagnosis is written.
"""

from __future__ import annotations

import re
from typing import Final

_HEDGE: Final = re.compile(r"\b(?:or|either)\b")
# After a letter set: "B or C", "B/C", and the same in other languages ("B o C", "B oder C", "B ou C").
# A "?" after the set questions it ("The answer is B?", "Answer: B, C, D?").
_TRAILING_HEDGE: Final = re.compile(r"[\s,]*(?:(?:or|o|oder|ou|oppure|ou\s+bien)\b|/|或|\?)")

# Matched on lowercased text. Each alternative names a second option kept open, or doubt about the first.
_CONCLUSION_HEDGE: Final = re.compile(
    # One word boundary in front of all the word forms: the engine then tries them only where a word starts.
    r"\b(?:"
    r"or\s+(?:possibly|perhaps|maybe|potentially|probably|alternatively|else|even)\b"
    r"|(?:possibly|perhaps|maybe)\b"
    r"|(?:but|though|although)\s+(?:it\s+|this\s+)?(?:could|might|may|can)\s+(?:also\s+|well\s+)?be\b"
    r"|(?:could|might|may|can)\s+(?:also|equally|just\s+as\s+well)\s+be\b"
    r"|either\b[\s\S]{0,200}?\bor\b"
    r"|vs\b|versus\b|and\s*/\s*or\b|if\s+not\b"
    r"|alternative(?:ly|s)?\b|differential\b|undecided\b|torn\s+between\b"
    r"|second(?:ary)?\s+(?:choice|option|pick|guess|possibility|most\s+likely)\b"
    r"|(?:another|other)\s+possibilit(?:y|ies)\b|cannot\s+(?:rule\s+out|exclude)\b"
    r"|(?:cannot|can['’]?t|could\s+not|couldn['’]t|not)\s+be\s+(?:excluded|ruled\s+out|distinguished)\b"
    r"|(?:less|equally|as)\s+likely\b"
    r"|(?:is|are|also|remains?|seems?)\s+(?:also\s+)?possible\b|possibilit(?:y|ies)\b"
    r"|close\s+(?:second|call|contender)\b|runners?[-\s]up\b|next\s+best\b"
    r"|(?:also|equally)\s+(?:plausible|possible|likely|reasonable|consistent)\b|plausible\b|equally\b"
    r"|not\s+(?:be\s+)?(?:excluded|ruled\s+out)\b|otherwise\s+(?:option\s+)?[a-e](?![a-z0-9'’])"
    r"|else\b|followed\s+(?:closely\s+)?by\b|closely\s+followed\b"
    r"|also\s+fits?\b|low\s+confidence|not\s+(?:sure|confident|certain)\b|unsure\b|unless\b"
    r"|in\s+which\s+case\b|if\s+forced\b|guess\b|hard\s+to\s+say\b|(?:might|could)\s+be\b"
    r"|questionable\b|borderline\b|uncertain\b|equivocal\b|indeterminate\b|doubtful\b"
    r"|or\s+(?:options?\s+|choices?\s+)?[(\[]?[a-e](?![a-z0-9'’])(?!\s+[a-z])"  # "B (60%) or D (40%)"
    r"|aunque\b|podr[ií]a\b|quiz[aá]s?\b|tal\s+vez\b|eventuell\b|vielleicht\b|m[öo]glich"
    r"|auch\s+(?:m[öo]glich|denkbar)|aussi\s+possible|peut[-\s][eê]tre\b|pourrait\b|forse\b"
    r")"
    r"|\n[ \t>*_-]*(?:or|oder|ou|o)\s"  # "Answer: B" then a line "or C"
    r"|或者|或是|也可能|可能|不能排除|或|または|あるいは|かもしれ"
)
# In a set of levels, a level said to be probable is a hedged level: "L4/L5 and L5/S1, probably L3/L4 too".
# A "?" before a level is a radiologist's query: "L4/L5, L5/S1, ? L3/L4".
_SET_HEDGE: Final = re.compile(
    r"\bprobabl[ey]\b|\b(?:may|might|could)\s+(?:also\s+)?(?:be|involve|affect)\b"
    r"|\?\s*(?:l\d|[a-e](?![a-z0-9'’]))"
)


# A lone "?" just before the conclusion queries what follows ("L4/L5, L5/S1, ? L3/L4"): "? " ends a unit.
_QUERY_BEFORE: Final = re.compile(r"(?:^|[\s,;(\[])\?\s*$")


def hedged_conclusion(low: str, start: int, *, multiple: bool) -> bool:
    """Whether the lowercased reply hedges from `start` (the conclusion's first unit) to its end."""
    if _CONCLUSION_HEDGE.search(low, start) is not None:
        return True
    if _QUERY_BEFORE.search(low, max(0, start - 4), start) is not None:
        return True
    return multiple and _SET_HEDGE.search(low, start) is not None
