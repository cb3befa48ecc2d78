import assert from "node:assert/strict";
import fc from "fast-check";
import { crc32 } from "node:zlib";
import { PNG } from "pngjs";
import {
  type Chunk,
  exifOrientationPayload,
  gradientJpeg,
  greyPng,
  insertJpegSegment,
  jpegSegments,
  pngBytes,
  pngChunks,
} from "../src/intake/testdata/craft.ts";
import { encodeWebp, pattern } from "../src/intake/testdata/webp_encode.ts";
import { freshDataDir } from "../src/storage/testing.ts";
import {
  imageRequest,
  jsonRequest,
  loadFixtureImages,
  MODELS_DIR,
  residentBytes,
  startMain,
} from "./support/server.ts";

/** Every client error the README documents; anything else (or any 5xx) fails the property. */
const DOCUMENTED: Record<number, string[]> = {
  400: ["invalid_json", "invalid_multipart"],
  413: ["payload_too_large", "image_too_large"],
  415: ["unsupported_media_type", "unsupported_image_format"],
  422: [
    "undecodable_image",
    "missing_image",
    "invalid_base64",
    "invalid_query",
    "invalid_request",
    "invalid_options",
    "limit_exceeded",
  ],
};

/** Probes off except one FGSM step: a valid check costs a few forward passes. */
const CHEAP_CHECK = { squeeze: false, randomization: false, pgd: false, minimalEpsilon: false, fgsm: { eps: [0.03] } };

function rgbaPng16(): Uint8Array {
  const png = new PNG({ width: 9, height: 7, bitDepth: 16, colorType: 6, inputColorType: 6, inputHasAlpha: true });
  (png as unknown as { data: Uint16Array }).data = Uint16Array.from({ length: 9 * 7 * 4 }, (_, i) => i * 997 % 65536);
  return new Uint8Array(PNG.sync.write(png, { bitDepth: 16, colorType: 6, inputColorType: 6, inputHasAlpha: true }));
}

async function seedImages(): Promise<{ bytes: Uint8Array; type: string }[]> {
  const fixtures = (await loadFixtureImages("fashion", 2)).map((f) => f.bytes);
  const jpeg = gradientJpeg(40, 30);
  const pngs = [...fixtures, greyPng(28, 28, { interlace: true, idats: 3 }), greyPng(33, 17), rgbaPng16()];
  const jpegs = [jpeg, insertJpegSegment(jpeg, 2, 0xe1, exifOrientationPayload(8)), gradientJpeg(300, 200, 60)];
  const webps = [
    await encodeWebp(pattern(28, 28), 28, 28),
    await encodeWebp(pattern(30, 20), 30, 20, { lossless: true }),
  ];
  return [
    ...pngs.map((bytes) => ({ bytes, type: "image/png" })),
    ...jpegs.map((bytes) => ({ bytes, type: "image/jpeg" })),
    ...webps.map((bytes) => ({ bytes, type: "image/webp" })),
  ];
}

type Mutation = (bytes: Uint8Array) => Uint8Array;

const bitFlips = fc.array(fc.record({ at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }), {
  minLength: 1,
  maxLength: 8,
})
  .map((flips): Mutation => (bytes) => {
    const out = bytes.slice();
    for (const { at, bit } of flips) out[at % out.length] ^= 1 << bit;
    return out;
  });
// Cuts past the signature (short random bodies come from the random-bytes branch).
const truncation = fc.double({ min: 0.05, max: 1, noNaN: true }).map((f): Mutation => (bytes) =>
  bytes.subarray(0, Math.floor(bytes.length * f))
);
const insertion = fc.record({ at: fc.nat(), junk: fc.uint8Array({ minLength: 1, maxLength: 64 }) }).map(
  ({ at, junk }): Mutation => (bytes) => {
    const i = at % (bytes.length + 1);
    return Uint8Array.from([...bytes.subarray(0, i), ...junk, ...bytes.subarray(i)]);
  },
);

function isPngBytes(bytes: Uint8Array): boolean {
  return bytes[0] === 0x89 && bytes[1] === 0x50;
}

/** Chunk-level edits with correct CRCs, so they reach the structural checks and the decoder. */
const chunkEdit = fc.record({
  kind: fc.constantFrom("duplicate", "drop", "swap"),
  i: fc.nat(),
  j: fc.nat(),
}).map(({ kind, i, j }): Mutation => (bytes) => {
  if (!isPngBytes(bytes)) return bytes;
  const chunks: Chunk[] = pngChunks(bytes);
  if (chunks.length === 0) return bytes;
  const a = i % chunks.length, b = j % chunks.length;
  if (kind === "duplicate") chunks.splice(b, 0, chunks[a]);
  else if (kind === "drop") chunks.splice(a, 1);
  else [chunks[a], chunks[b]] = [chunks[b], chunks[a]];
  return pngBytes(chunks);
});

/** IHDR / SOF field edits (PNG CRC recomputed): sizes up to 2^32, depths, colour types, interlace, codings. */
const headerEdit = fc.record({
  field: fc.integer({ min: 0, max: 12 }),
  value: fc.oneof(fc.nat({ max: 255 }), fc.constantFrom(0, 1, 2, 3, 4, 6, 8, 16, 0xc2, 0xc9)),
  wide: fc.oneof(fc.nat(), fc.constantFrom(0, 1, 6000, 65535, 2 ** 31, 2 ** 32 - 1)),
}).map(({ field, value, wide }): Mutation => (bytes) => {
  const out = bytes.slice();
  const view = new DataView(out.buffer);
  if (isPngBytes(out) && out.length >= 33) {
    if (field < 2) view.setUint32(16 + 4 * field, wide >>> 0);
    else out[16 + 8 + (field % 5)] = value;
    view.setUint32(29, crc32(out.subarray(12, 29)) >>> 0);
    return out;
  }
  const sof = jpegSegments(out).find((s) => s.marker >= 0xc0 && s.marker <= 0xc2);
  if (!sof) return out;
  if (field < 2) view.setUint16(sof.at + 5 + 2 * field, wide & 0xffff);
  else if (field === 2) out[sof.at + 1] = value;
  else out[sof.at + 4 + (field % 8)] = value;
  return out;
});

const mutations = fc.array(fc.oneof(bitFlips, truncation, insertion, chunkEdit, headerEdit), { maxLength: 3 });

const optionsArbitrary = fc.oneof(
  fc.constant(CHEAP_CHECK),
  fc.record({
    label: fc.oneof(fc.integer({ min: -2, max: 12 }), fc.constant(null), fc.string()),
    seed: fc.oneof(fc.nat(), fc.double()),
    fgsm: fc.oneof(fc.constant(false), fc.record({ eps: fc.array(fc.double({ min: -1, max: 2 }), { maxLength: 3 }) })),
    topK: fc.integer({ min: -1, max: 2000 }),
  }, { requiredKeys: [] }).map((edits) => ({ ...CHEAP_CHECK, ...edits })),
  fc.anything(),
);

function body(
  bytes: Uint8Array,
  type: string,
  form: "raw" | "multipart" | "json",
  options: unknown,
): RequestInit {
  if (form === "json") return jsonRequest({ image: bytes.toBase64(), options });
  if (form === "multipart") {
    const data = new FormData();
    data.append("image", new Blob([bytes as Uint8Array<ArrayBuffer>], { type }), "image");
    if (options !== undefined) data.append("options", JSON.stringify(options) ?? "null");
    return { method: "POST", body: data };
  }
  return imageRequest(bytes, type);
}

Deno.test({
  name:
    "intake property: random and mutated PNG/JPEG/WebP bytes and options get 200 or a documented 4xx; the server stays up",
  fn: async () => {
    // A process of its own, so its memory is its alone (test modules run in parallel in this one).
    const dataDir = await freshDataDir();
    const server = await startMain({
      ROBUSTCHECK_MODELS_DIR: MODELS_DIR,
      ROBUSTCHECK_DATA_DIR: dataDir,
      ROBUSTCHECK_BACKEND: "native",
      ROBUSTCHECK_THREADS: "2",
      ROBUSTCHECK_MAX_PIXELS: "4000000",
      ROBUSTCHECK_MAX_BODY_BYTES: "2000000",
      ROBUSTCHECK_MAX_COST: "300",
    });
    try {
      const seeds = await seedImages();
      const predictUrl = `${server.url}/v1/models/fashion-cnn/predict`;
      const checkUrl = `${server.url}/v1/models/fashion-cnn/check`;
      const reference = await (await fetch(predictUrl, imageRequest(seeds[0].bytes))).json();
      // The cheap option set really runs a check (so the property also covers 200 answers of /check).
      const cheap = await fetch(checkUrl, jsonRequest({ image: seeds[0].bytes.toBase64(), options: CHEAP_CHECK }));
      assert.equal(cheap.status, 200, await cheap.clone().text());
      await cheap.body?.cancel();
      const rssBefore = residentBytes(server.pid);
      const statuses = new Map<number, number>();

      const image = fc.oneof(
        { weight: 6, arbitrary: fc.record({ seed: fc.nat(seeds.length - 1), mutate: mutations }) },
        { weight: 1, arbitrary: fc.record({ seed: fc.constant(-1), mutate: fc.constant([]) }) },
      ).chain(({ seed, mutate }) =>
        seed < 0
          ? fc.uint8Array({ maxLength: 512 }).map((bytes) => ({ bytes, type: "image/png" }))
          : fc.constant({ bytes: mutate.reduce((b, m) => m(b), seeds[seed].bytes), type: seeds[seed].type })
      );
      await fc.assert(
        fc.asyncProperty(
          image,
          fc.constantFrom("raw", "multipart", "json" as const),
          fc.constantFrom("predict", "check"),
          optionsArbitrary,
          fc.oneof(fc.constant(""), fc.integer({ min: -3, max: 2000 }).map(String), fc.string({ maxLength: 8 })),
          async ({ bytes, type }, form, route, options, topK) => {
            const url = route === "predict"
              ? `${predictUrl}${topK === "" ? "" : `?topK=${encodeURIComponent(topK)}`}`
              : `${checkUrl}?options=${encodeURIComponent(JSON.stringify(options) ?? "")}`;
            const response = await fetch(url, body(bytes, type, form, route === "check" ? options : undefined));
            const text = await response.text();
            statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
            if (response.status === 200) {
              const json = JSON.parse(text);
              assert.ok(route === "predict" ? json.prediction : json.probes, text);
              return;
            }
            assert.ok(DOCUMENTED[response.status], `undocumented status ${response.status}: ${text}`);
            const { error } = JSON.parse(text);
            assert.ok(DOCUMENTED[response.status].includes(error.code), `${response.status} ${error.code}`);
          },
        ),
        { numRuns: 250 },
      );
      assert.ok((statuses.get(200) ?? 0) > 10, `too few images survived the mutations: ${[...statuses]}`);
      assert.ok((statuses.get(422) ?? 0) > 10, `too few rejections: ${[...statuses]}`);

      const health = await fetch(`${server.url}/healthz`);
      assert.equal(health.status, 200);
      await health.body?.cancel();
      const after = await (await fetch(predictUrl, imageRequest(seeds[0].bytes))).json();
      assert.deepEqual(after.prediction, reference.prediction);
      const growth = (residentBytes(server.pid) - rssBefore) / 2 ** 20;
      assert.ok(growth < 1024, `RSS grew by ${growth.toFixed(0)} MiB`);
    } finally {
      await server.stop();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
