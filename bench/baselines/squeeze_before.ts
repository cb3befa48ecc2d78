/**
 * The squeezer kernels as they were before the running-sum non-local means and the median
 * comparison networks (kernels/squeeze.ts at commit 7ed7d10), kept verbatim so that
 * `deno task bench` measures before and after side by side (bench/kernels.ts). Not used by the
 * service.
 */
/**
 * Feature squeezers of Xu, Evans & Qi, "Feature Squeezing: Detecting Adversarial Examples in Deep
 * Neural Networks" (NDSS 2018), on float32 pixels in [0,1]. Each returns a new array.
 */
import type { BatchShape, ImageShape } from "../../kernels/resize.ts";

function checkLength(x: Float32Array, expected: number, what: string): void {
  if (x.length !== expected) throw new RangeError(`${what}: expected ${expected} values, got ${x.length}`);
}

/** Rounds half to even (numpy.rint) for finite inputs. */
function rint(v: number): number {
  const r = Math.round(v); // half rounds toward +∞
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Bit-depth reduction to `bits` ∈ 1..8: rint(x·m)/m with m = 2^bits − 1, rint rounding half to
 * even. Mirrors Xu's numpy code on float32 arrays exactly: x·m is rounded to float32 before rint
 * and the quotient is a correctly rounded float32 division. Elementwise, so any shape works.
 */
export function bitDepth(x: Float32Array, bits: number): Float32Array {
  if (!(Number.isInteger(bits) && bits >= 1 && bits <= 8)) throw new RangeError(`bits must be 1..8, got ${bits}`);
  const m = 2 ** bits - 1;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = rint(Math.fround(x[i] * m)) / m;
  return out;
}

/** scipy.ndimage mode="reflect" (half-sample symmetric: d c b a | a b c d | d c b a), any index. */
function reflectIndex(i: number, n: number): number {
  const period = 2 * n;
  const m = ((i % period) + period) % period;
  return m < n ? m : period - 1 - m;
}

/**
 * k×k median filter per channel plane, equal to `scipy.ndimage.median_filter(x, size=(1, k, k),
 * mode="reflect")` (Xu's code). With scipy's origin=0 the window of output (i, j) covers rows
 * i − ⌊k/2⌋ … i − ⌊k/2⌋ + k − 1 (same for columns): centred for odd k, one more row/column before
 * than after the pixel for even k (k=2 → {i−1, i}). Out-of-range indices reflect with the edge
 * repeated (scipy "reflect"). The result is the element of rank ⌊k²/2⌋ in ascending order — the
 * upper median when k² is even. `shape.channels` may be n·c to filter a whole NCHW batch.
 */
export function median(x: Float32Array, shape: ImageShape, k: number): Float32Array {
  const { channels: c, height: h, width: w } = shape;
  checkLength(x, c * h * w, "median");
  if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`k must be a positive integer, got ${k}`);
  const before = Math.floor(k / 2);
  const rowIdx = Int32Array.from({ length: h + k - 1 }, (_, r) => reflectIndex(r - before, h));
  const colIdx = Int32Array.from({ length: w + k - 1 }, (_, q) => reflectIndex(q - before, w));
  const rank = Math.floor((k * k) / 2);
  const win = new Float32Array(k * k);
  const out = new Float32Array(x.length);
  for (let ch = 0; ch < c; ch++) {
    const plane = ch * h * w;
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        // Insertion sort of the k² window: k ≤ 5 in practice, cheaper than a selection.
        let len = 0;
        for (let a = 0; a < k; a++) {
          const row = plane + rowIdx[i + a] * w;
          for (let b = 0; b < k; b++) {
            const v = x[row + colIdx[j + b]];
            let p = len++;
            while (p > 0 && win[p - 1] > v) {
              win[p] = win[p - 1];
              p--;
            }
            win[p] = v;
          }
        }
        out[plane + i * w + j] = win[rank];
      }
    }
  }
  return out;
}

/** OpenCV's fastNlMeansDenoising drops weights below this fraction of the maximum weight (1). */
export const NLM_WEIGHT_CUTOFF = 0.001;
/** exp(−t) < cutoff ⇔ t > −ln(cutoff); the margin keeps the exact test for borderline t. */
const SKIP_EXPONENT = -Math.log(NLM_WEIGHT_CUTOFF) + 1e-9;

/** Settings of {@link nonLocalMeans}; Xu uses 11-3-4 and 13-3-2 (search-patch-h). */
export interface NonLocalMeansOptions {
  /** Search window side (odd), e.g. 11 or 13. */
  search: number;
  /** Patch side (odd), e.g. 3. */
  patch: number;
  /** Filter strength on the 0..255 scale, > 0. */
  h: number;
}

/** OpenCV BORDER_DEFAULT = BORDER_REFLECT_101 (gfedcb|abcdefgh|gfedcba), any index. */
function reflect101Index(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * n - 2;
  const m = ((i % period) + period) % period;
  return m < n ? m : period - m;
}

/**
 * Non-local means as OpenCV's `cv2.fastNlMeansDenoising(src, None, h, patch, search)` defines it,
 * with its joint multi-channel distance (what that call does on a 1- or 3-channel uint8 array),
 * batched over NCHW images:
 * - values v = 255·x (not quantised to integers);
 * - for each pixel p and each q in the search×search window centred at p:
 *   d²(p,q) = mean over the patch×patch offsets and the C channels of (v(p+o) − v(q+o))²,
 *   w(q) = exp(−max(d² − 0, 0)/h²) (σ = 0), and w(q) = 0 when w(q) < 0.001 (OpenCV's cutoff);
 * - output(p) = Σ_q w(q)·v(q) / Σ_q w(q) / 255 per channel (w(p) = 1, so Σw ≥ 1);
 * - pixels outside the image are read by reflect-101 (OpenCV BORDER_DEFAULT), for patches and
 *   search positions alike.
 * Differences from OpenCV, which works on uint8: it quantises d² (floor(SSD/2^⌈log2 patch²⌉) ×
 * 2^⌈log2 patch²⌉/patch²), uses fixed-point integer weights and rounds the output to uint8, so
 * cv2 agrees to within about one grey level. `cv2.fastNlMeansDenoisingColored` (what Xu ran on
 * colour images) instead converts to CIELAB and denoises L (strength h) and a,b (hColor)
 * separately; that variant is NOT implemented here.
 */
export function nonLocalMeans(x: Float32Array, shape: BatchShape, opts: NonLocalMeansOptions): Float32Array {
  const { n, channels: c, height: h, width: w } = shape;
  checkLength(x, n * c * h * w, "nonLocalMeans");
  const { search, patch } = opts;
  for (const [name, v] of [["search", search], ["patch", patch]] as const) {
    if (!(Number.isInteger(v) && v >= 1 && v % 2 === 1)) throw new RangeError(`${name} must be odd, got ${v}`);
  }
  if (!(opts.h > 0)) throw new RangeError(`h must be > 0, got ${opts.h}`);
  const sh = (search - 1) / 2;
  const ph = (patch - 1) / 2;
  const border = sh + ph;
  const hp = h + 2 * border;
  const wp = w + 2 * border;
  const scale = 1 / (patch * patch * c * opts.h * opts.h);
  const padded = new Float64Array(c * hp * wp);
  // Per offset: squared differences on a grid covering the positions plus a patch half-width,
  // then their horizontal patch sums (sized for the largest offset).
  const diff = new Float64Array((h + sh + 2 * ph) * (w + sh + 2 * ph));
  const rowSums = new Float64Array((h + sh + 2 * ph) * (w + sh));
  const acc = new Float64Array(c * h * w);
  const wsum = new Float64Array(h * w);
  const rowIdx = Int32Array.from({ length: hp }, (_, r) => reflect101Index(r - border, h));
  const colIdx = Int32Array.from({ length: wp }, (_, q) => reflect101Index(q - border, w));
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++) {
    const img = b * c * h * w;
    for (let ch = 0; ch < c; ch++) {
      for (let r = 0; r < hp; r++) {
        const src = img + ch * h * w + rowIdx[r] * w;
        const dst = (ch * hp + r) * wp;
        for (let q = 0; q < wp; q++) padded[dst + q] = 255 * x[src + colIdx[q]];
      }
    }
    // Centre offset: d² = 0, weight exactly 1.
    wsum.fill(1);
    for (let ch = 0; ch < c; ch++) {
      for (let i = 0; i < h; i++) {
        for (let j = 0; j < w; j++) acc[(ch * h + i) * w + j] = padded[(ch * hp + border + i) * wp + border + j];
      }
    }
    // d²(p, p+o) = d²(p+o, p): each offset o of one half-plane also serves −o. Positions p cover
    // every p with p or p+o inside the image (rows −dy…h−1, columns jlo…jlo+bw−1).
    for (let dy = 0; dy <= sh; dy++) {
      for (let dx = dy === 0 ? 1 : -sh; dx <= sh; dx++) {
        const bh = h + dy;
        const bw = w + Math.abs(dx);
        const jlo = dx >= 0 ? -dx : 0;
        const dw = bw + 2 * ph;
        // diff[r][q] compares padded (sh − dy + r, sh + jlo + q) with its (dy, dx) displacement.
        diff.fill(0, 0, (bh + 2 * ph) * dw);
        for (let ch = 0; ch < c; ch++) {
          const base = ch * hp * wp;
          for (let r = 0; r < bh + 2 * ph; r++) {
            const p0 = base + (sh - dy + r) * wp + sh + jlo;
            const p1 = p0 + dy * wp + dx;
            const d0 = r * dw;
            for (let q = 0; q < dw; q++) {
              const d = padded[p0 + q] - padded[p1 + q];
              diff[d0 + q] += d * d;
            }
          }
        }
        for (let r = 0; r < bh + 2 * ph; r++) {
          const d0 = r * dw;
          let s = 0;
          for (let q = 0; q < patch; q++) s += diff[d0 + q];
          rowSums[r * bw] = s;
          for (let j = 1; j < bw; j++) {
            s += diff[d0 + j + patch - 1] - diff[d0 + j - 1];
            rowSums[r * bw + j] = s;
          }
        }
        for (let bi = 0; bi < bh; bi++) {
          const i = bi - dy;
          for (let bj = 0; bj < bw; bj++) {
            let ssd = 0;
            for (let a = 0; a < patch; a++) ssd += rowSums[(bi + a) * bw + bj];
            const t = Math.max(ssd, 0) * scale;
            if (t > SKIP_EXPONENT) continue;
            const wt = Math.exp(-t);
            if (wt < NLM_WEIGHT_CUTOFF) continue;
            const j = bj + jlo;
            const pAt = (border + i) * wp + border + j; // padded index of p (channel 0)
            const qAt = pAt + dy * wp + dx; // and of q = p + o
            if (i >= 0 && j >= 0 && j < w) {
              wsum[i * w + j] += wt;
              for (let ch = 0; ch < c; ch++) acc[(ch * h + i) * w + j] += wt * padded[ch * hp * wp + qAt];
            }
            const qi = i + dy, qj = j + dx;
            if (qi < h && qj >= 0 && qj < w) {
              wsum[qi * w + qj] += wt;
              for (let ch = 0; ch < c; ch++) acc[(ch * h + qi) * w + qj] += wt * padded[ch * hp * wp + pAt];
            }
          }
        }
      }
    }
    for (let ch = 0; ch < c; ch++) {
      for (let k = 0; k < h * w; k++) out[img + ch * h * w + k] = acc[ch * h * w + k] / wsum[k] / 255;
    }
  }
  return out;
}
