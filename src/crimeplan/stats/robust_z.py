"""Robust z-scores of a series against its neighbours: is a month's total implausible?

A publisher's file can start or end mid-stream: the MPS ward file's first month
holds 47 offences against about 70,000 in every other month. Such a period is
found by comparing its total ``x`` with the periods around it (up to
``window`` present periods on each side, itself excluded), using the median
``m`` and the median absolute deviation (MAD) — location and scale that one
odd value cannot drag (only the periods present count; Iglewicz and Hoaglin 1993, *How to Detect and Handle
Outliers*, ASQC, §2.2; the "modified z-score" there uses 0.6745 / MAD, the
same as ``1 / (1.4826 · MAD)`` here):

    z = (x − m) / s,   s = max(1.4826 · MAD, √m)

The floor ``√m`` is the Poisson standard deviation of a count whose mean is
``m``: months of a small series (ten homicides a month) vary by chance far
more than a MAD of near-identical neighbours suggests.

A period is flagged when it is both *far* (``|z| > z_limit``) and *large*
(below ``low_ratio · m`` = half, or above ``high_ratio · m`` = three times, the median): the ratio keeps a
genuine change of level (the first pandemic lockdown: about a third fewer
offences) from being called incomplete, the z-score keeps small counts from
being flagged by chance.

    >>> flags = implausible([70000, 71000, 69000, 47, 70500, 70200, 69800], window=6)
    >>> [f.flag for f in flags]
    ['', '', '', 'low', '', '', '']
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

WINDOW = 6  # present periods on each side
MIN_NEIGHBOURS = 4  # fewer than this: no judgement
Z_LIMIT = 3.5  # Iglewicz and Hoaglin's recommended cut-off for the modified z-score
LOW_RATIO = 0.5
HIGH_RATIO = 3.0
MAD_SCALE = 1.4826  # MAD → standard deviation for normal data


@dataclass(frozen=True)
class Assessment:
    value: float
    reference: float | None  # the neighbours' median; None with too few neighbours
    z: float | None
    flag: str  # '', 'low' or 'high'


def implausible(values: Sequence[float], *, window: int = WINDOW, z_limit: float = Z_LIMIT,
                low_ratio: float = LOW_RATIO, high_ratio: float = HIGH_RATIO,
                min_neighbours: int = MIN_NEIGHBOURS) -> list[Assessment]:
    """Each value judged against up to ``window`` values on each side (itself excluded)."""
    x = np.asarray(values, dtype=float)
    out: list[Assessment] = []
    for i, value in enumerate(x):
        neighbours = np.concatenate([x[max(0, i - window):i], x[i + 1:i + 1 + window]])
        neighbours = neighbours[~np.isnan(neighbours)]
        if neighbours.size < min_neighbours or math.isnan(value):
            out.append(Assessment(float(value), None, None, ""))
            continue
        m = float(np.median(neighbours))
        mad = float(np.median(np.abs(neighbours - m)))
        scale = max(MAD_SCALE * mad, math.sqrt(max(m, 0.0)), 1e-12)
        z = (value - m) / scale
        flag = ""
        if z < -z_limit and value < low_ratio * m:
            flag = "low"
        elif z > z_limit and value > high_ratio * m:
            flag = "high"
        out.append(Assessment(float(value), m, z, flag))
    return out


__all__ = ["Assessment", "implausible", "WINDOW", "Z_LIMIT", "LOW_RATIO", "HIGH_RATIO", "MIN_NEIGHBOURS"]
