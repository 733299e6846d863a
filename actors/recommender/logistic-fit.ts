/**
 * A small logistic regression fitted by Newton's method (iteratively reweighted least squares) with an L2 penalty:
 * for the uplift model's handful of features (actors/recommender/uplift-model.ts), where the redemption model's
 * specialised trainer (coupon-model.ts) does not apply.
 */

/** Weights w minimising the log loss of σ(w · x) against y, plus l2/2 × |w|² (every weight but `free` ones penalised). */
export function fitLogistic(
  rows: readonly Float64Array[],
  y: readonly number[],
  o: { l2?: number; free?: readonly number[]; iterations?: number } = {},
): number[] {
  const P = rows[0]?.length ?? 0;
  const l2 = o.l2 ?? 1,
    free = new Set(o.free ?? []);
  const w = new Float64Array(P);
  for (let it = 0; it < (o.iterations ?? 50); it++) {
    const g = new Float64Array(P),
      H = new Float64Array(P * P);
    for (let r = 0; r < rows.length; r++) {
      const x = rows[r];
      let z = 0;
      for (let i = 0; i < P; i++) z += w[i] * x[i];
      const p = 1 / (1 + Math.exp(-z)),
        e = p - y[r],
        s = p * (1 - p);
      for (let i = 0; i < P; i++) {
        g[i] += e * x[i];
        for (let j = 0; j <= i; j++) H[i * P + j] += s * x[i] * x[j];
      }
    }
    for (let i = 0; i < P; i++) {
      for (let j = 0; j < i; j++) H[j * P + i] = H[i * P + j];
      const pen = free.has(i) ? 1e-9 : l2;
      H[i * P + i] += pen;
      g[i] += pen * w[i];
    }
    const step = solve(H, g, P);
    let max = 0;
    for (let i = 0; i < P; i++) {
      w[i] -= step[i];
      max = Math.max(max, Math.abs(step[i]));
    }
    if (max < 1e-9) break;
  }
  return [...w];
}

/** A symmetric positive definite system by Cholesky decomposition. */
function solve(A: Float64Array, b: Float64Array, n: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j];
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      L[i * n + j] = i === j ? Math.sqrt(Math.max(s, 1e-12)) : s / L[j * n + j];
    }
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[i * n + k] * z[k];
    z[i] = s / L[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = z[i];
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * x[k];
    x[i] = s / L[i * n + i];
  }
  return x;
}
