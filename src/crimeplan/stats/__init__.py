"""Honest statistics for crime measures: one method per module, each citing its reference.

* :mod:`~crimeplan.stats.rate_ratio` — is a change between two periods more than
  Poisson noise? Exact conditional rate-ratio interval and (central) test, one
  comparison or thousands at once.
* :mod:`~crimeplan.stats.weighted_poisson` — the same question for harm (a
  weighted sum of counts): delta-method interval for the ratio of harm rates.
* :mod:`~crimeplan.stats.spc` — which months fall outside expected variation?
  c-, u- and Laney u′-charts with the Western Electric rules.
* :mod:`~crimeplan.stats.fdr` — many areas tested at once: Benjamini–Hochberg.
* :mod:`~crimeplan.stats.survey` — sampling error of survey proportions (and of
  shares built from counts): Wilson and Newcombe intervals.
* :mod:`~crimeplan.stats.hotspots` — hot and cold spots among areas: Getis–Ord
  Gi* with FDR control.
* :mod:`~crimeplan.stats.funnel` — which institutions' shares lie outside the
  exact binomial limits around the overall share (Spiegelhalter 2005 funnel plots).

Every result is a frozen dataclass whose ``to_dict()`` is JSON-safe (undefined
values are None, never NaN or infinity) and carries a plain-English sentence or
note where a reader needs one. The vectorised results (``*Arrays``) hold
read-only numpy arrays with NaN where the single result has None; their
``to_dict()`` gives nested lists with None.
"""

from crimeplan.stats.fdr import FdrResult, benjamini_hochberg, benjamini_hochberg_adjusted
from crimeplan.stats.rate_ratio import RateRatio, RateRatioArrays, rate_ratio_interval, rate_ratio_intervals
from crimeplan.stats.spc import ControlChart, Signal, c_chart, u_chart, western_electric_rules
from crimeplan.stats.survey import (
    ProportionChange,
    ProportionChangeArrays,
    SurveyInterval,
    proportion_change,
    proportion_change_counts,
    proportion_changes,
    wilson_interval,
)
from crimeplan.stats.weighted_poisson import (
    WeightedRateRatio,
    WeightedRateRatioArrays,
    weighted_rate_ratio_interval,
    weighted_rate_ratio_intervals,
)

__all__ = [
    "ControlChart",
    "FdrResult",
    "HotspotArea",
    "HotspotResult",
    "ProportionChange",
    "ProportionChangeArrays",
    "RateRatio",
    "RateRatioArrays",
    "Signal",
    "SurveyInterval",
    "WeightedRateRatio",
    "WeightedRateRatioArrays",
    "benjamini_hochberg",
    "benjamini_hochberg_adjusted",
    "c_chart",
    "getis_ord_gi_star",
    "proportion_change",
    "proportion_change_counts",
    "proportion_changes",
    "rate_ratio_interval",
    "rate_ratio_intervals",
    "u_chart",
    "weighted_rate_ratio_interval",
    "weighted_rate_ratio_intervals",
    "western_electric_rules",
    "wilson_interval",
]


def __getattr__(name: str):
    # Hot-spot statistics need esda/libpysal, slow to import (over a second): load them on first use.
    if name in ("HotspotArea", "HotspotResult", "getis_ord_gi_star"):
        from crimeplan.stats import hotspots

        return getattr(hotspots, name)
    raise AttributeError(f"module 'crimeplan.stats' has no attribute {name!r}")
