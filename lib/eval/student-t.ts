/**
 * The CDF of Student's t distribution, through the regularized incomplete beta function:
 * for t < 0, F(t; ν) = ½·I_x(ν/2, ½) with x = ν / (ν + t²), and F(t) = 1 − F(−t) for t > 0.
 * I_x(a, b) is evaluated by its continued fraction (modified Lentz), or, for large ν near the
 * centre, through its complement's series of positive terms, where the continued fraction's
 * terms would cancel. x and 1 − x enter as logarithms computed without cancellation, and
 * Γ(a + ½)/Γ(a) by its asymptotic series, so tail probabilities keep their relative precision.
 * Internal: lib/eval/stats.ts's studentTCdf checks the arguments.
 */

/** Above this ν the distribution is evaluated at this ν: within ~3e-8 (relative, in the tails) of the limit, as close as the fraction resolves there. */
const MAX_DF = 1e10;
/** From this ν on, the centre (a·y < SERIES_LIMIT) uses the complement's series. */
const SERIES_MIN_DF = 1e5;
const SERIES_LIMIT = 5;
const TINY = 1e-300;
const EPSILON = 1e-16;
const MAX_ITERATIONS = 100_000;

/** ln(Γ(a + ½) / Γ(a)) for a > 0: upward recurrence to a ≥ 50, then its asymptotic series. */
function lnGammaHalfRatio(a: number): number {
  let shift = 0;
  let z = a;
  for (; z < 50; z++) shift += Math.log(z / (z + 0.5)); // ratio(z) = ratio(z + 1) · z / (z + ½)
  const z2 = z * z;
  return shift + 0.5 * Math.log(z) - 1 / (8 * z) + 1 / (192 * z * z2) - 1 / (640 * z * z2 * z2) + 17 / (14336 * z * z2 * z2 * z2);
}

/** ln B(a, ½) = ln Γ(½) + ln Γ(a) − ln Γ(a + ½). */
function lnBetaHalf(a: number): number {
  return 0.5 * Math.log(Math.PI) - lnGammaHalfRatio(a);
}

/**
 * I_x(a, b) (one of a, b is ½; lnBeta = ln B(a, b)) by its continued fraction, which
 * converges quickly for x < (a + 1)/(a + b + 2). lnX, lnY: ln x and ln(1 − x).
 */
function incompleteBetaFraction(a: number, b: number, x: number, lnX: number, lnY: number, lnBeta: number): number {
  const front = Math.exp(a * lnX + b * lnY - lnBeta) / a;
  const clampTiny = (v: number): number => (Math.abs(v) < TINY ? TINY : v);
  let c = 1;
  let d = 1 / clampTiny(1 - ((a + b) * x) / (a + 1));
  let h = d;
  for (let m = 1; m <= MAX_ITERATIONS; m++) {
    const even = (m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m));
    d = 1 / clampTiny(1 + even * d);
    c = clampTiny(1 + even / c);
    h *= d * c;
    const odd = (-(a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1));
    d = 1 / clampTiny(1 + odd * d);
    c = clampTiny(1 + odd / c);
    const step = d * c;
    h *= step;
    if (Math.abs(step - 1) < EPSILON) break;
  }
  return front * h;
}

/** I_y(½, a) by its series y^½ (1 − y)^a / (½·B(a, ½)) · Σ (a + ½)_n / (3/2)_n · yⁿ (positive terms). */
function incompleteBetaSeries(a: number, y: number, lnX: number, lnY: number): number {
  const front = Math.exp(0.5 * lnY + a * lnX - lnBetaHalf(a)) / 0.5;
  let term = 1;
  let total = 1;
  for (let n = 0; term > EPSILON * total && n < MAX_ITERATIONS; n++) {
    term *= ((a + 0.5 + n) / (1.5 + n)) * y;
    total += term;
  }
  return front * total;
}

/** F(t; df) for df > 0 (checked by the caller); NaN for a NaN t. */
export function studentTDistributionCdf(t: number, df: number): number {
  if (Number.isNaN(t) || Number.isNaN(df)) return Number.NaN;
  if (t === 0) return 0.5;
  if (t > 0) return 1 - studentTDistributionCdf(-t, df);
  const nu = Math.min(df, MAX_DF);
  const a = nu / 2;
  const t2 = t * t;
  const lnX = -Math.log1p(t2 / nu); // x = ν / (ν + t²)
  const lnY = -Math.log1p(nu / t2); // 1 − x = t² / (ν + t²)
  const x = Math.exp(lnX);
  const y = Math.exp(lnY);
  if (nu >= SERIES_MIN_DF && a * y < SERIES_LIMIT) return 0.5 * (1 - incompleteBetaSeries(a, y, lnX, lnY));
  if (x < (a + 1) / (a + 2.5)) return 0.5 * incompleteBetaFraction(a, 0.5, x, lnX, lnY, lnBetaHalf(a));
  return 0.5 * (1 - incompleteBetaFraction(0.5, a, y, lnY, lnX, lnBetaHalf(a)));
}
