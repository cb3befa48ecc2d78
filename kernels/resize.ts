/** One image, CHW. A batch of n images can be passed as `channels = n·c` (planes are independent). */
export interface ImageShape {
  channels: number;
  height: number;
  width: number;
}

/** A batch of images, NCHW. */
export interface BatchShape extends ImageShape {
  n: number;
}

function checkLength(x: Float32Array, expected: number, what: string): void {
  if (x.length !== expected) throw new RangeError(`${what}: expected ${expected} values, got ${x.length}`);
}

function checkSize(h: number, w: number): void {
  if (!(Number.isInteger(h) && Number.isInteger(w) && h >= 1 && w >= 1)) {
    throw new RangeError(`bad output size ${h}×${w}`);
  }
}

/** Per output index: first source index, number of taps, normalised weights (`size` per row). */
interface AxisWeights {
  start: Int32Array;
  count: Int32Array;
  weights: Float64Array;
  size: number;
}

/**
 * torch's `_compute_weights_aa` for the bilinear (triangle) filter, align_corners=False:
 * scale = in/out; support = max(scale, 1); centre = scale·(i + 0.5);
 * taps j ∈ [trunc(centre − support + 0.5) ∨ 0, trunc(centre + support + 0.5) ∧ in);
 * w_j ∝ max(0, 1 − |(j − centre + 0.5)·invscale|) with invscale = 1/max(scale, 1), normalised.
 */
function axisWeights(inSize: number, outSize: number): AxisWeights {
  const scale = inSize / outSize;
  const support = scale >= 1 ? scale : 1;
  const invscale = scale >= 1 ? 1 / scale : 1;
  const size = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * size);
  for (let i = 0; i < outSize; i++) {
    const centre = scale * (i + 0.5);
    const lo = Math.max(Math.trunc(centre - support + 0.5), 0);
    const n = Math.min(Math.trunc(centre + support + 0.5), inSize) - lo;
    let total = 0;
    for (let j = 0; j < n; j++) {
      const w = Math.max(0, 1 - Math.abs((j + lo - centre + 0.5) * invscale));
      weights[i * size + j] = w;
      total += w;
    }
    if (total !== 0) { for (let j = 0; j < n; j++) weights[i * size + j] /= total; }
    start[i] = lo;
    count[i] = n;
  }
  return { start, count, weights, size };
}

/**
 * Bilinear resize of one CHW image to outH × outW, equal to
 * `torch.nn.functional.interpolate(x, (outH, outW), mode="bilinear", align_corners=False,
 * antialias=True)`: PIL's antialiased triangle filter when shrinking an axis (support widens to
 * in/out source pixels), plain half-pixel bilinear with edge clamping when enlarging it. Separable,
 * width pass first (as torch), float64 accumulation, rounded once to float32. Same size → copy.
 */
export function resizeBilinear(
  img: Float32Array,
  shape: ImageShape,
  outH: number,
  outW: number,
): Float32Array {
  const { channels: c, height: h, width: w } = shape;
  checkLength(img, c * h * w, "resizeBilinear");
  checkSize(outH, outW);
  if (outH === h && outW === w) return img.slice();
  const ax = axisWeights(w, outW);
  const ay = axisWeights(h, outH);
  const tmp = new Float64Array(h * outW);
  const out = new Float32Array(c * outH * outW);
  for (let ch = 0; ch < c; ch++) {
    const src = ch * h * w;
    for (let y = 0; y < h; y++) {
      const row = src + y * w;
      for (let x = 0; x < outW; x++) {
        const lo = ax.start[x];
        const wo = x * ax.size;
        let s = 0;
        for (let j = 0; j < ax.count[x]; j++) s += ax.weights[wo + j] * img[row + lo + j];
        tmp[y * outW + x] = s;
      }
    }
    const dst = ch * outH * outW;
    for (let y = 0; y < outH; y++) {
      const lo = ay.start[y];
      const wo = y * ay.size;
      for (let x = 0; x < outW; x++) {
        let s = 0;
        for (let j = 0; j < ay.count[y]; j++) s += ay.weights[wo + j] * tmp[(lo + j) * outW + x];
        out[dst + y * outW + x] = s;
      }
    }
  }
  return out;
}

/**
 * Nearest-neighbour source index per output index, Xie et al.'s convention (TF1
 * `resize_images(NEAREST_NEIGHBOR)`, align_corners=False): src = floor(dst·in/out), computed in
 * exact integer arithmetic. torch `mode="nearest"` uses the same rule with a float32 scale, so the
 * two agree except where float32 rounding of in/out crosses an integer.
 */
function nearestMap(inSize: number, outSize: number): Int32Array {
  const map = new Int32Array(outSize);
  for (let i = 0; i < outSize; i++) map[i] = Math.floor((i * inSize) / outSize);
  return map;
}

/**
 * Nearest resize of one CHW image to outH × outW with src = floor(dst·in/out) per axis (Xie et
 * al.'s TF1 NEAREST_NEIGHBOR rule; torch `mode="nearest"` on the sizes we use).
 */
export function resizeNearest(
  img: Float32Array,
  shape: ImageShape,
  outH: number,
  outW: number,
): Float32Array {
  const { channels: c, height: h, width: w } = shape;
  checkLength(img, c * h * w, "resizeNearest");
  checkSize(outH, outW);
  const rows = nearestMap(h, outH);
  const cols = nearestMap(w, outW);
  const out = new Float32Array(c * outH * outW);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < outH; y++) {
      const src = ch * h * w + rows[y] * w;
      const dst = (ch * outH + y) * outW;
      for (let x = 0; x < outW; x++) out[dst + x] = img[src + cols[x]];
    }
  }
  return out;
}

/**
 * Adjoint (transpose) of {@link resizeNearest} with src = floor(dst·in/out): `grad` is
 * C × outH × outW and each value is added to the input pixel it was copied from; the result has
 * `inShape`.
 */
export function resizeNearestAdjoint(
  grad: Float32Array,
  inShape: ImageShape,
  outH: number,
  outW: number,
): Float32Array {
  const { channels: c, height: h, width: w } = inShape;
  checkSize(outH, outW);
  checkLength(grad, c * outH * outW, "resizeNearestAdjoint");
  const rows = nearestMap(h, outH);
  const cols = nearestMap(w, outW);
  const out = new Float32Array(c * h * w);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < outH; y++) {
      const dst = ch * h * w + rows[y] * w;
      const src = (ch * outH + y) * outW;
      for (let x = 0; x < outW; x++) out[dst + cols[x]] += grad[src + x];
    }
  }
  return out;
}

function checkPlacement(shape: ImageShape, canvasH: number, canvasW: number, top: number, left: number) {
  const ok = [canvasH, canvasW, top, left].every(Number.isInteger) && top >= 0 && left >= 0 &&
    top + shape.height <= canvasH && left + shape.width <= canvasW;
  if (!ok) {
    throw new RangeError(
      `${shape.height}×${shape.width} at (${top},${left}) does not fit a ${canvasH}×${canvasW} canvas`,
    );
  }
}

/** Places a CHW image on a zero canvas (C × canvasH × canvasW) with its top-left at (top, left). */
export function padZero(
  img: Float32Array,
  shape: ImageShape,
  canvasH: number,
  canvasW: number,
  top: number,
  left: number,
): Float32Array {
  const { channels: c, height: h, width: w } = shape;
  checkLength(img, c * h * w, "padZero");
  checkPlacement(shape, canvasH, canvasW, top, left);
  const out = new Float32Array(c * canvasH * canvasW);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < h; y++) {
      const src = (ch * h + y) * w;
      out.set(img.subarray(src, src + w), (ch * canvasH + top + y) * canvasW + left);
    }
  }
  return out;
}

/** Adjoint of {@link padZero}: crops the `shape`-sized window at (top, left) out of the canvas. */
export function padZeroAdjoint(
  grad: Float32Array,
  shape: ImageShape,
  canvasH: number,
  canvasW: number,
  top: number,
  left: number,
): Float32Array {
  const { channels: c, height: h, width: w } = shape;
  checkLength(grad, c * canvasH * canvasW, "padZeroAdjoint");
  checkPlacement(shape, canvasH, canvasW, top, left);
  const out = new Float32Array(c * h * w);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < h; y++) {
      const src = (ch * canvasH + top + y) * canvasW + left;
      out.set(grad.subarray(src, src + w), (ch * h + y) * w);
    }
  }
  return out;
}

/** One draw of Xie et al.'s randomization: resize to size×size, pad onto canvas×canvas at (top, left). */
export interface ResizePadTransform {
  size: number;
  top: number;
  left: number;
  canvas: number;
}

/**
 * Source pixel index per output index along one axis of the composed map
 * out(len) ← nearest ← canvas ← pad ← size ← nearest ← in(len); −1 where the canvas is padding.
 */
function resizePadMap(len: number, size: number, offset: number, canvas: number): Int32Array {
  const map = new Int32Array(len);
  for (let i = 0; i < len; i++) {
    const k = Math.floor((i * canvas) / len) - offset;
    map[i] = k >= 0 && k < size ? Math.floor((k * len) / size) : -1;
  }
  return map;
}

function checkTransform(t: ResizePadTransform): void {
  const { size, top, left, canvas } = t;
  const ok = [size, top, left, canvas].every(Number.isInteger) && size >= 1 && top >= 0 &&
    left >= 0 && top + size <= canvas && left + size <= canvas;
  if (!ok) throw new RangeError(`bad resize-pad transform ${JSON.stringify(t)}`);
}

/**
 * Xie et al. (ICLR 2018) random resize + pad for a fixed-size model, batched NCHW: each H×W image
 * is nearest-resized to size×size, zero-padded onto a canvas×canvas at (top, left), and the canvas
 * nearest-resized back to H×W. Nearest uses src = floor(dst·in/out) in both resizes, so the whole
 * composition is one index map (gather) per axis. Output has the input's shape.
 */
export function resizePadForward(img: Float32Array, shape: BatchShape, t: ResizePadTransform): Float32Array {
  const { n, channels: c, height: h, width: w } = shape;
  checkLength(img, n * c * h * w, "resizePadForward");
  checkTransform(t);
  const rows = resizePadMap(h, t.size, t.top, t.canvas);
  const cols = resizePadMap(w, t.size, t.left, t.canvas);
  const out = new Float32Array(img.length);
  for (let p = 0; p < n * c; p++) {
    const plane = p * h * w;
    for (let y = 0; y < h; y++) {
      if (rows[y] < 0) continue;
      const src = plane + rows[y] * w;
      const dst = plane + y * w;
      for (let x = 0; x < w; x++) if (cols[x] >= 0) out[dst + x] = img[src + cols[x]];
    }
  }
  return out;
}

/** Adjoint of {@link resizePadForward}: scatter-adds `grad` (same NCHW shape) back to the sources. */
export function resizePadAdjoint(grad: Float32Array, shape: BatchShape, t: ResizePadTransform): Float32Array {
  const { n, channels: c, height: h, width: w } = shape;
  checkLength(grad, n * c * h * w, "resizePadAdjoint");
  checkTransform(t);
  const rows = resizePadMap(h, t.size, t.top, t.canvas);
  const cols = resizePadMap(w, t.size, t.left, t.canvas);
  const out = new Float32Array(grad.length);
  for (let p = 0; p < n * c; p++) {
    const plane = p * h * w;
    for (let y = 0; y < h; y++) {
      if (rows[y] < 0) continue;
      const dst = plane + rows[y] * w;
      const src = plane + y * w;
      for (let x = 0; x < w; x++) if (cols[x] >= 0) out[dst + cols[x]] += grad[src + x];
    }
  }
  return out;
}

/** Range of {@link drawResizePad}: size ∈ [minSize, maxSize), placed on a canvas×canvas. */
export interface ResizePadRange {
  minSize: number;
  maxSize: number;
  canvas: number;
}

/**
 * Draws a {@link ResizePadTransform} with `rng` (uniform in [0,1)), in this order, following Xie
 * et al.'s reference code (`tf.random_uniform` with an exclusive upper bound):
 * size = minSize + ⌊u₁·(maxSize − minSize)⌋ (uniform over [minSize, maxSize)),
 * top = ⌊u₂·(canvas − size)⌋, left = ⌊u₃·(canvas − size)⌋ (uniform over [0, canvas − size), so the
 * image is never flush with the bottom/right edge; 0 when size = canvas). Three draws always.
 */
export function drawResizePad(rng: () => number, range: ResizePadRange): ResizePadTransform {
  const { minSize, maxSize, canvas } = range;
  const ok = [minSize, maxSize, canvas].every(Number.isInteger) && minSize >= 1 &&
    maxSize > minSize && maxSize - 1 <= canvas;
  if (!ok) throw new RangeError(`bad resize-pad range ${JSON.stringify(range)}`);
  const size = minSize + Math.floor(rng() * (maxSize - minSize));
  const top = Math.floor(rng() * (canvas - size));
  const left = Math.floor(rng() * (canvas - size));
  return { size, top, left, canvas };
}
