"""The name of the hard-negative protocol a build followed, as the manifest and the card state it.

The paper ranks each other disease by the most similar single library image (`max`), with only the query
image itself left out. A build that does anything else is a variant and is named as one, so a score is never
compared with the paper's under a protocol it did not follow.
"""

from __future__ import annotations

from typing import Final

from spinebench.questions._hard_negatives import Aggregation

PAPER_PROTOCOL: Final = "spinebench-paper-v1"
VARIANT_PROTOCOL: Final = "spinebench-variant-v1"


def protocol_name(aggregation: Aggregation, *, exclude_same_patient: bool = False) -> str:
    """`spinebench-paper-v1`, or e.g. `spinebench-variant-v1[aggregation=topk:5,exclude=same-patient]`."""
    departures = []
    if aggregation.kind != "max":
        departures.append(f"aggregation={aggregation}")
    if exclude_same_patient:
        departures.append("exclude=same-patient")
    if not departures:
        return PAPER_PROTOCOL
    return f"{VARIANT_PROTOCOL}[{','.join(departures)}]"
