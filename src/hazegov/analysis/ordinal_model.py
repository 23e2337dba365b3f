"""The proportional-odds model of `hazegov.analysis.regression.ordinal_logit`: statsmodels'
`OrderedModel` with an analytic score and Hessian.

A module of its own so that importing the regression library does not import statsmodels: the
simulation and multiverse jobs use only its design matrix.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special
from statsmodels.miscmodels.ordinal_model import OrderedModel


class LogitOrderedModel(OrderedModel):
    """statsmodels `OrderedModel(distr="logit")` with the logistic cdf by `scipy.special.expit`
    (what scipy.stats' logistic calls underneath, without its generic machinery) and an
    analytic score and Hessian of the same log-likelihood, log(P + 1e-20) with
    P = F(τ_c+1 − x'b) − F(τ_c − x'b), in statsmodels' parameters (b, a): τ_1 = a_1,
    τ_j = a_1 + Σ_{2≤m≤j} exp(a_m). statsmodels' defaults differentiate it numerically."""

    def cdf(self, x: np.ndarray) -> np.ndarray:
        return special.expit(x)

    def pdf(self, x: np.ndarray) -> np.ndarray:
        cdf = special.expit(x)
        return cdf * (1 - cdf)

    def _threshold_jacobian(self, raw: np.ndarray) -> np.ndarray:
        """dτ/da, padded with zero rows for the infinite bounds τ_0 = −∞, τ_J = +∞."""
        cuts = self.k_levels - 1
        d_tau = np.zeros((cuts + 2, cuts))
        d_tau[1:-1, 0] = 1.0
        for m in range(1, cuts):
            d_tau[m + 1 : -1, m] = np.exp(raw[m])
        return d_tau

    def _parts(self, params: np.ndarray) -> tuple[np.ndarray, ...]:
        """Per case: dθ of the upper and lower bound (n × K), F, f and P + 1e-20."""
        params = np.asarray(params, dtype=float)
        d_tau = self._threshold_jacobian(params[self.k_vars :])
        exog = np.asarray(self.exog, dtype=float)
        codes = np.asarray(self.endog, dtype=int)
        upper = np.column_stack([-exog, d_tau[codes + 1]])
        lower = np.column_stack([-exog, d_tau[codes]])
        low, upp = self._bounds(params)
        f_upp, f_low = special.expit(upp), special.expit(low)
        d_upp, d_low = f_upp * (1 - f_upp), f_low * (1 - f_low)
        prob = np.maximum(f_upp - f_low, 0) + 1e-20
        return upper, lower, f_upp, f_low, d_upp, d_low, prob

    def score_obs(self, params: np.ndarray) -> np.ndarray:  # type: ignore[override]
        upper, lower, _, _, d_upp, d_low, prob = self._parts(params)
        return upper * (d_upp / prob)[:, None] - lower * (d_low / prob)[:, None]

    def score(self, params: np.ndarray) -> np.ndarray:  # type: ignore[override]
        """Σ of `score_obs` without its n × K arrays: the slopes' part is −X'(g_upp − g_low),
        the thresholds' part is (dτ/da)' times ∂ℓ/∂τ, summed per outcome level."""
        params = np.asarray(params, dtype=float)
        k, cuts = self.k_vars, self.k_levels - 1
        low, upp = self._bounds(params)
        f_upp, f_low = special.expit(upp), special.expit(low)
        prob = np.maximum(f_upp - f_low, 0) + 1e-20
        g_upp, g_low = f_upp * (1 - f_upp) / prob, f_low * (1 - f_low) / prob
        codes = np.asarray(self.endog, dtype=int)
        own = np.bincount(codes + 1, weights=g_upp, minlength=cuts + 2) - np.bincount(
            codes, weights=g_low, minlength=cuts + 2
        )
        d_tau = self._threshold_jacobian(params[k:])[1:-1]
        slopes = -(np.asarray(self.exog, dtype=float).T @ (g_upp - g_low))
        return np.concatenate([slopes, d_tau.T @ own[1:-1]])

    def hessian(self, params: np.ndarray) -> np.ndarray:  # type: ignore[override]
        upper, lower, f_upp, f_low, d_upp, d_low, prob = self._parts(params)
        g_upp, g_low = d_upp / prob, d_low / prob  # ∂ℓ/∂upp, −∂ℓ/∂low
        w_uu = d_upp * (1 - 2 * f_upp) / prob - g_upp**2
        w_ll = -d_low * (1 - 2 * f_low) / prob - g_low**2
        w_ul = g_upp * g_low
        cross = upper.T @ (lower * w_ul[:, None])
        hess = (
            upper.T @ (upper * w_uu[:, None]) + lower.T @ (lower * w_ll[:, None]) + cross + cross.T
        )
        # second derivatives of τ in a: ∂²τ_j/∂a_m² = exp(a_m) for 2 ≤ m ≤ j
        k, cuts = self.k_vars, self.k_levels - 1
        raw = np.asarray(params, dtype=float)[k:]
        codes = np.asarray(self.endog, dtype=int)
        own = np.bincount(codes + 1, weights=g_upp, minlength=cuts + 2) - np.bincount(
            codes, weights=g_low, minlength=cuts + 2
        )
        dl_dtau = own[1:-1]  # ∂ℓ/∂τ_j, j = 1..J−1
        for m in range(1, cuts):
            hess[k + m, k + m] += math.exp(raw[m]) * dl_dtau[m:].sum()
        return hess
