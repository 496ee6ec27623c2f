"""Funnel plots for comparing institutions' proportions, with exact binomial control limits.

Spiegelhalter DJ (2005). "Funnel plots for comparing institutional performance."
Statistics in Medicine 24(8):1185–1202. doi:10.1002/sim.1970. Section 3 (proportions):
the limits at each number of cases n are the binomial quantiles of the target share,
interpolated between whole counts so that the funnel is smooth (his equation 6):

    r_p  the smallest r with  F(r) >= p        (F: Binomial(n, p0) distribution function)
    α  = (F(r_p) - p) / (F(r_p) - F(r_p - 1))
    limit_p = (r_p - α) / n

with p = 0.025 and 0.975 for the 95% limits, 0.001 and 0.999 for the 99.8% limits (about
2 and 3 standard deviations), and never below 0: where r_p = 0 the interpolation would give
−α/n. Overdispersion (section 5 of the paper, and Spiegelhalter
2005, "Handling over-dispersion of performance indicators", Qual Saf Health Care
14:347–351): φ = Σ z_i² / I from the z-scores z_i = (y_i/n_i − p0) / √(p0(1 − p0)/n_i),
winsorised at their 10th and 90th centiles; I·φ is referred to χ² on I − 1 degrees of
freedom (winsorising shrinks φ below 1, about 0.6, when there is no overdispersion). When
the institutions are overdispersed the exact limits are too narrow for them: each position
is then also given against the normal limits widened by √φ (his multiplicative model).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import binom, chi2, norm

LIMITS = {"95%": (0.025, 0.975), "99.8%": (0.001, 0.999)}
WINSOR = 0.10  # z-scores shrunk to their 10th and 90th centiles before φ is estimated


def binomial_limit(p0: float, n: np.ndarray | float, p: float) -> np.ndarray:
    """The interpolated binomial ``p``-quantile of the share, for ``n`` cases at target ``p0`` (Spiegelhalter eq. 6)."""
    n = np.asarray(n, dtype=float)
    r = binom.ppf(p, n, p0)  # the smallest r with F(r) >= p
    f_r, f_below = binom.cdf(r, n, p0), binom.cdf(r - 1, n, p0)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(f_r > f_below, (f_r - p) / (f_r - f_below), 0.0)
        # At r_p = 0 the interpolation reaches below 0 (−α/n): no share can, so the limit is 0 there.
        return np.clip((r - alpha) / n, 0.0, 1.0)


@dataclass
class Funnel:
    """Each institution's share and where it falls against the limits around the target."""

    target: float  # p0: the pooled share of all institutions (Σy / Σn) unless one is given
    share: np.ndarray
    z: np.ndarray  # (share − p0) / binomial standard error at the institution's n
    limits: dict[str, tuple[np.ndarray, np.ndarray]]  # "95%", "99.8%" -> (low, high) at each institution's n
    position: list[str]  # 'above 99.8%', 'above 95%', 'within 95%', 'below 95%', 'below 99.8%'
    phi: float  # the overdispersion estimate (winsorised)
    overdispersion_p: float  # P(χ²_{I−1} ≥ I·φ): small means the limits are too narrow for these institutions
    position_overdispersed: list[str]  # the same against p0 ± z·√(φ·p0(1 − p0)/n) (φ taken as 1 when below it)

    def curve(self, n: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The limits along a grid of ``n``, to draw the funnel."""
        return {name: (binomial_limit(self.target, n, lo), binomial_limit(self.target, n, hi))
                for name, (lo, hi) in LIMITS.items()}


def funnel(successes, trials, target: float | None = None) -> Funnel:
    """The funnel of ``successes`` out of ``trials`` per institution (target: the pooled share)."""
    y, n = np.asarray(successes, dtype=float), np.asarray(trials, dtype=float)
    if y.shape != n.shape or y.ndim != 1 or y.size == 0:
        raise ValueError("successes and trials must be equal-length, non-empty 1-d arrays")
    if (n <= 0).any() or (y < 0).any() or (y > n).any():
        raise ValueError("every institution needs 0 <= successes <= trials and trials > 0")
    p0 = float(y.sum() / n.sum()) if target is None else float(target)
    if not 0.0 < p0 < 1.0:
        raise ValueError(f"the target share must lie strictly between 0 and 1 (got {p0})")
    share = y / n
    z = (share - p0) / np.sqrt(p0 * (1 - p0) / n)
    limits = {name: (binomial_limit(p0, n, lo), binomial_limit(p0, n, hi)) for name, (lo, hi) in LIMITS.items()}
    position = [_position(s, limits["95%"][0][i], limits["95%"][1][i], limits["99.8%"][0][i], limits["99.8%"][1][i])
                for i, s in enumerate(share)]
    lo, hi = np.quantile(z, [WINSOR, 1 - WINSOR])
    phi = float(np.mean(np.clip(z, lo, hi) ** 2))
    p_over = float(chi2.sf(len(z) * phi, len(z) - 1)) if len(z) > 1 else float("nan")
    widened = z / np.sqrt(max(phi, 1.0))
    z95, z998 = norm.ppf(LIMITS["95%"][1]), norm.ppf(LIMITS["99.8%"][1])
    position_over = [_position(w, -z95, z95, -z998, z998) for w in widened]
    return Funnel(p0, share, z, limits, position, phi, p_over, position_over)


def _position(x: float, low95: float, high95: float, low998: float, high998: float) -> str:
    if x > high998:
        return "above 99.8%"
    if x > high95:
        return "above 95%"
    if x < low998:
        return "below 99.8%"
    if x < low95:
        return "below 95%"
    return "within 95%"
