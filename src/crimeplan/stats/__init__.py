"""Honest statistics for crime measures: one method per module, each citing its reference.

* :mod:`~crimeplan.stats.rate_ratio` — is a change between two periods more than
  Poisson noise? Exact conditional rate-ratio interval and test.
* :mod:`~crimeplan.stats.spc` — which months fall outside expected variation?
  c-, u- and Laney u′-charts with the Western Electric rules.
* :mod:`~crimeplan.stats.fdr` — many areas tested at once: Benjamini–Hochberg.
* :mod:`~crimeplan.stats.survey` — sampling error of survey proportions: Wilson
  and Newcombe intervals.
* :mod:`~crimeplan.stats.hotspots` — hot and cold spots among areas: Getis–Ord
  Gi* with FDR control.

Every result is a frozen dataclass whose ``to_dict()`` is JSON-safe (undefined
values are None, never NaN or infinity) and carries a plain-English sentence or
note where a reader needs one.
"""

from crimeplan.stats.fdr import FdrResult, benjamini_hochberg
from crimeplan.stats.hotspots import HotspotArea, HotspotResult, getis_ord_gi_star
from crimeplan.stats.rate_ratio import RateRatio, rate_ratio_interval
from crimeplan.stats.spc import ControlChart, Signal, c_chart, u_chart, western_electric_rules
from crimeplan.stats.survey import ProportionChange, SurveyInterval, proportion_change, wilson_interval

__all__ = [
    "ControlChart",
    "FdrResult",
    "HotspotArea",
    "HotspotResult",
    "ProportionChange",
    "RateRatio",
    "Signal",
    "SurveyInterval",
    "benjamini_hochberg",
    "c_chart",
    "getis_ord_gi_star",
    "proportion_change",
    "rate_ratio_interval",
    "u_chart",
    "western_electric_rules",
    "wilson_interval",
]
