/** Seeded randomness and the dense linear algebra the energy model spends its time in. */


/** mulberry32: a tiny 32-bit PRNG, plenty for synthetic data, identical on every platform. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function gaussian(rng: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng())
}

// ---------------------------------------------------------------------------------------------
// Linear algebra on row-major Float64Array (the hot loops)

/** Dot product of a[ao..ao+len) and b[bo..bo+len); four accumulators break the add dependency chain. */
export function dot(a: Float64Array, ao: number, b: Float64Array, bo: number, len: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0
  let k = 0
  for (; k + 3 < len; k += 4) {
    s0 += (a[ao + k] as number) * (b[bo + k] as number)
    s1 += (a[ao + k + 1] as number) * (b[bo + k + 1] as number)
    s2 += (a[ao + k + 2] as number) * (b[bo + k + 2] as number)
    s3 += (a[ao + k + 3] as number) * (b[bo + k + 3] as number)
  }
  for (; k < len; k++) s0 += (a[ao + k] as number) * (b[bo + k] as number)
  return s0 + s1 + s2 + s3
}

/** Arithmetic mean; 0 for an empty array. */
export function mean(a: Float64Array): number {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i] as number
  return a.length === 0 ? 0 : s / a.length
}

export function sumSquares(a: Float64Array): number {
  return dot(a, 0, a, 0, a.length)
}

/** out = W H, the N x N x d product: each entry is a dot of a row of W with a column of H. */
export function applyPairWeights(W: Float64Array, H: Float64Array, n: number, d: number, out: Float64Array = new Float64Array(n * d)): Float64Array {
  const Ht = new Float64Array(n * d) // H transposed, so both operands of every dot are contiguous
  for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) Ht[k * n + i] = H[i * d + k] as number
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < d; k++) out[i * d + k] = dot(W, i * n, Ht, k * n, n)
  }
  return out
}

/** pair = -sum_ij W_ij (H H^T)_ij, from the Gram entries <h_i,h_j>; each unordered pair once. */
export function pairTerm(W: Float64Array, H: Float64Array, n: number, d: number): number {
  let s = 0
  for (let i = 0; i < n; i++) {
    s += (W[i * n + i] as number) * dot(H, i * d, H, i * d, d)
    for (let j = i + 1; j < n; j++) {
      s += ((W[i * n + j] as number) + (W[j * n + i] as number)) * dot(H, i * d, H, j * d, d)
    }
  }
  return -s
}

/** Largest |eigenvalue| of a symmetric W by power iteration; ||W v|| for unit v rises to it. */
export function spectralNorm(W: Float64Array, n: number, start?: Float64Array): { norm: number; vector: Float64Array } {
  let v: Float64Array = start ? start.slice() : fixedStart(n)
  let w: Float64Array = new Float64Array(n)
  let norm = 0
  for (let it = 0; it < 1000; it++) {
    for (let i = 0; i < n; i++) w[i] = dot(W, i * n, v, 0, n)
    const nw = Math.sqrt(sumSquares(w))
    if (nw === 0) return { norm: 0, vector: v }
    for (let i = 0; i < n; i++) w[i] = (w[i] as number) / nw
    ;[v, w] = [w, v]
    const done = Math.abs(nw - norm) <= 1e-13 * nw
    norm = nw
    if (done) break
  }
  return { norm, vector: v }
}

/** A fixed pseudo-random unit vector: never orthogonal to the dominant eigenvector in practice. */
export function fixedStart(n: number): Float64Array {
  const rng = mulberry32(0x5eed)
  const v = new Float64Array(n)
  for (let i = 0; i < n; i++) v[i] = rng() + 0.5
  const nv = Math.sqrt(sumSquares(v))
  for (let i = 0; i < n; i++) v[i] = (v[i] as number) / nv
  return v
}

/** Scales W in place by 1 / max(1, ||W||_2); returns the norm after clipping and the eigenvector. */
export function clipSpectralNorm(W: Float64Array, n: number, start?: Float64Array): { norm: number; vector: Float64Array } {
  const { norm, vector } = spectralNorm(W, n, start)
  const scale = 1 / Math.max(1, norm)
  if (scale !== 1) for (let i = 0; i < W.length; i++) W[i] = (W[i] as number) * scale
  return { norm: norm * scale, vector }
}

