import assert from "node:assert/strict";
import { gzipSync, Zip, ZipDeflate, type Zippable, zipSync } from "fflate";
import { packTar, type TarEntry } from "modern-tar";
import { PNG } from "pngjs";
import { decodeImage } from "../intake/decode.ts";
import { toModelPixels } from "../intake/to_pixels.ts";
import { readDataset } from "./dataset.ts";
import { decodeDatasetImage } from "./decode.ts";
import { DatasetError } from "./errors.ts";
import { type DatasetLimits, DEFAULT_DATASET_LIMITS } from "./limits.ts";
import { datasetManifestText } from "./sha256.ts";

const CLASSES = ["T-shirt/top", "Trouser", "Bag"];

function png(width: number, height: number, value: number): Uint8Array {
  const image = new PNG({ width, height });
  image.data.fill(value);
  for (let i = 3; i < image.data.length; i += 4) image.data[i] = 255;
  return new Uint8Array(PNG.sync.write(image, { colorType: 0 }));
}

const A = png(4, 4, 10);
const B = png(4, 4, 200);
const C = png(5, 3, 90);

const zip = (files: Zippable) => zipSync(files);
const tar = (entries: TarEntry[]) => packTar(entries);
const file = (name: string, body: Uint8Array | string): TarEntry => ({
  header: { name, size: typeof body === "string" ? new TextEncoder().encode(body).length : body.length, type: "file" },
  body,
});

async function refused(
  input: Parameters<typeof readDataset>[0],
  problem: string,
  status: number,
  limits: DatasetLimits = DEFAULT_DATASET_LIMITS,
): Promise<DatasetError> {
  const error = await readDataset(input, CLASSES, limits).then(
    () => assert.fail(`expected ${problem}`),
    (e) => e,
  );
  assert.ok(error instanceof DatasetError, `not a DatasetError: ${error}`);
  assert.equal(error.problem, problem, error.message);
  assert.equal(error.status, status);
  assert.ok(error.message.startsWith(`${problem}:`), error.message);
  return error;
}

Deno.test("dataset: ImageFolder zip, tar, tar.gz and JSON of the same files have the same images and sha256", async () => {
  const folder = { "T-shirt_top/a.png": A, "Bag/b.png": B, "1/c.png": C };
  const fromZip = await readDataset({ kind: "archive", bytes: zip(folder) }, CLASSES);
  assert.equal(fromZip.format, "zip");
  assert.equal(fromZip.layout, "image-folder");
  assert.deepEqual(fromZip.images.map((i) => [i.name, i.label]), [["1/c.png", 1], ["Bag/b.png", 2], [
    "T-shirt_top/a.png",
    0,
  ]]);
  assert.deepEqual(fromZip.counts, [1, 1, 1]);
  assert.deepEqual(fromZip.images.map((i) => i.source), [
    { format: "png", width: 5, height: 3 },
    { format: "png", width: 4, height: 4 },
    { format: "png", width: 4, height: 4 },
  ]);
  const tarBytes = await tar(Object.entries(folder).map(([n, b]) => file(n, b)));
  const fromTar = await readDataset({ kind: "archive", bytes: tarBytes }, CLASSES);
  const fromTgz = await readDataset({ kind: "archive", bytes: gzipSync(tarBytes) }, CLASSES);
  assert.deepEqual([fromTar.format, fromTgz.format], ["tar", "tar.gz"]);
  const json = await readDataset({
    kind: "json",
    value: Object.entries(folder).map(([name, b]) => ({ name, image: b.toBase64(), label: name.split("/")[0] })),
  }, CLASSES);
  for (const other of [fromTar, fromTgz, json]) assert.equal(other.sha256, fromZip.sha256);
  // The definition: SHA-256 of the sorted "name TAB label TAB sha256(bytes) LF" lines.
  const text = datasetManifestText(fromZip.images);
  assert.equal(text.split("\n")[0], `1/c.png\t1\t${fromZip.images[0].sha256}`);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  assert.equal(fromZip.sha256, Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join(""));
  // A different label changes it.
  const moved = await readDataset({
    kind: "archive",
    bytes: zip({ "T-shirt_top/a.png": A, "Bag/b.png": B, "Bag/c.png": C }),
  }, CLASSES);
  assert.notEqual(moved.sha256, fromZip.sha256);
});

Deno.test("dataset: labels.csv at the root takes precedence over folder names; names or indices; a wrapping folder is stripped", async () => {
  const csv = "file,label\nBag/a.png,Trouser\nx/b.png,0\n";
  const d = await readDataset({
    kind: "archive",
    bytes: zip({
      "set/labels.csv": new TextEncoder().encode(csv),
      "set/Bag/a.png": A,
      "set/x/b.png": B,
      "set/extra.png": C,
    }),
  }, CLASSES);
  assert.equal(d.layout, "labels.csv");
  assert.deepEqual(d.images.map((i) => [i.name, i.label]), [["Bag/a.png", 1], ["x/b.png", 0]]);
  assert.deepEqual(d.ignored, ["extra.png"]);
  await refused(
    { kind: "archive", bytes: zip({ "labels.csv": new TextEncoder().encode("a.png,Sock\n"), "a.png": A }) },
    "unknownLabel",
    422,
  );
  await refused(
    { kind: "archive", bytes: zip({ "labels.csv": new TextEncoder().encode("gone.png,Bag\n"), "a.png": A }) },
    "missingEntry",
    422,
  );
  await refused(
    { kind: "archive", bytes: zip({ "labels.csv": new TextEncoder().encode("a.png,Bag\na.png,Bag\n"), "a.png": A }) },
    "duplicateName",
    422,
  );
  await refused(
    { kind: "archive", bytes: zip({ "labels.csv": new TextEncoder().encode("a.png,Bag,3\n"), "a.png": A }) },
    "invalidLabelsCsv",
    422,
  );
});

Deno.test("dataset: hostile names are refused before anything is read, in zip and tar", async () => {
  for (
    const name of [
      "../evil.png",
      "Bag/../../evil.png",
      "/etc/evil.png",
      "..\\evil.png",
      "Bag\\evil.png",
      "C:/evil.png",
      "c:\\evil.png",
      "Bag/\u0000.png",
    ]
  ) {
    await refused({ kind: "archive", bytes: zip({ [name]: A }) }, "unsafeName", 422);
    // A tar name is NUL-terminated: "Bag/\0.png" is read back as the empty folder "Bag/".
    if (!name.includes("\u0000")) {
      await refused({ kind: "archive", bytes: await tar([file(name, A)]) }, "unsafeName", 422);
    }
  }
  await refused({ kind: "json", value: [{ name: "../x.png", image: A.toBase64(), label: 0 }] }, "unsafeName", 422);
});

Deno.test("dataset: links and duplicates are refused", async () => {
  const symlink = zipSync({
    "Bag/a.png": [new TextEncoder().encode("/etc/passwd"), { os: 3, attrs: (0o120777 << 16) >>> 0 }],
  });
  const e = await refused({ kind: "archive", bytes: symlink }, "link", 422);
  assert.match(e.message, /Bag\/a\.png/);
  await refused(
    {
      kind: "archive",
      bytes: await tar([{ header: { name: "Bag/a.png", type: "symlink", linkname: "/etc/passwd", size: 0 } }]),
    },
    "link",
    422,
  );
  await refused(
    {
      kind: "archive",
      bytes: await tar([file("Bag/b.png", B), {
        header: { name: "Bag/a.png", type: "link", linkname: "Bag/b.png", size: 0 },
      }]),
    },
    "link",
    422,
  );
  await refused(
    { kind: "archive", bytes: await tar([{ header: { name: "Bag/fifo", type: "fifo", size: 0 } }]) },
    "specialFile",
    422,
  );
  await refused(
    { kind: "archive", bytes: await tar([file("Bag/a.png", A), file("Bag/a.png", B)]) },
    "duplicateName",
    422,
  );
  await refused({ kind: "archive", bytes: zip({ "Bag/a.png": A, "Bag/./a.png": B }) }, "duplicateName", 422);
  await refused(
    {
      kind: "json",
      value: [{ name: "x", image: A.toBase64(), label: 0 }, { name: "x", image: B.toBase64(), label: 1 }],
    },
    "duplicateName",
    422,
  );
});

Deno.test("dataset: every limit is enforced and named", async () => {
  const small = (o: Partial<DatasetLimits>) => ({ ...DEFAULT_DATASET_LIMITS, ...o });
  const folder = zip({ "Bag/a.png": A, "Bag/b.png": B, "Trouser/c.png": C });
  await refused(
    { kind: "archive", bytes: folder },
    "maxArchiveBytes",
    413,
    small({ maxArchiveBytes: folder.length - 1 }),
  );
  await refused({ kind: "archive", bytes: folder }, "maxFiles", 413, small({ maxFiles: 2 }));
  await refused(
    { kind: "archive", bytes: await tar([file("Bag/a.png", A), file("Bag/b.png", B), file("Bag/c.png", C)]) },
    "maxFiles",
    413,
    small({ maxFiles: 2 }),
  );
  await refused({ kind: "archive", bytes: folder }, "maxNameLength", 413, small({ maxNameLength: 8 }));
  const big = await refused({ kind: "archive", bytes: folder }, "maxImagePixels", 413, small({ maxImagePixels: 15 }));
  assert.equal(big.code, "image_too_large");
  await refused({ kind: "archive", bytes: folder }, "maxTotalPixels", 413, small({ maxTotalPixels: 40 }));
  // A zip bomb: 16 MiB of zeros deflates to ~16 KiB; inflation stops at the 1 MiB cap.
  const zeros = new Uint8Array(16 * 1024 * 1024);
  const bomb = zip({ "Bag/a.png": [zeros, { level: 9 }] });
  assert.ok(bomb.length < 200_000);
  const bombError = await refused(
    { kind: "archive", bytes: bomb },
    "maxInflatedBytes",
    413,
    small({ maxInflatedBytes: 1 << 20 }),
  );
  assert.equal(bombError.code, "dataset_too_large");
  // The same through fflate's streaming Zip: local headers then say size 0 (data descriptors).
  const streamed: Uint8Array[] = [];
  const writer = new Zip((error, chunk) => {
    if (error) throw error;
    streamed.push(chunk);
  });
  const entry = new ZipDeflate("Bag/a.png", { level: 9 });
  writer.add(entry);
  entry.push(zeros, true);
  writer.end();
  const descriptorBomb = new Uint8Array(streamed.reduce((n, c) => n + c.length, 0));
  streamed.reduce((offset, c) => (descriptorBomb.set(c, offset), offset + c.length), 0);
  assert.equal(new DataView(descriptorBomb.buffer).getUint32(22, true), 0, "the local header declares 0 bytes");
  await refused(
    { kind: "archive", bytes: descriptorBomb },
    "maxInflatedBytes",
    413,
    small({ maxInflatedBytes: 1 << 20 }),
  );
  const tgzBomb = gzipSync(await tar([file("Bag/a.png", zeros)]), { level: 9 });
  await refused({ kind: "archive", bytes: tgzBomb }, "maxInflatedBytes", 413, small({ maxInflatedBytes: 1 << 20 }));
  await refused(
    { kind: "json", value: [{ image: A.toBase64(), label: 0 }, { image: B.toBase64(), label: 0 }] },
    "maxFiles",
    413,
    small({ maxFiles: 1 }),
  );
});

Deno.test("dataset: unknown labels are up-front errors; unreadable images are per-image error rows", async () => {
  const e = await refused({ kind: "archive", bytes: zip({ "Sock/a.png": A }) }, "unknownLabel", 422);
  assert.match(e.message, /"Sock"/);
  await refused({ kind: "json", value: [{ image: A.toBase64(), label: 3 }] }, "unknownLabel", 422);
  await refused({ kind: "json", value: [{ image: "@@@", label: 0 }] }, "invalidBase64", 422);
  await refused({ kind: "json", value: { images: [] } }, "invalidJson", 422);
  await refused({ kind: "archive", bytes: zip({ "readme.txt": new TextEncoder().encode("hi") }) }, "emptyDataset", 422);
  const notArchive = await refused({ kind: "archive", bytes: new TextEncoder().encode("hello") }, "archiveFormat", 415);
  assert.equal(notArchive.code, "unsupported_archive");
  await refused({ kind: "archive", bytes: zip({ "Bag/a.png": A }).slice(0, 40) }, "corruptArchive", 422);

  const corrupt = B.slice(0, 40); // a valid header, then nothing
  const d = await readDataset({
    kind: "archive",
    bytes: zip({
      "Bag/a.png": A,
      "Bag/notes.txt": new TextEncoder().encode("x"),
      "Bag/cut.png": corrupt,
      ".DS_Store": A,
      "__MACOSX/Bag/._a.png": A,
    }),
  }, CLASSES);
  assert.deepEqual(d.images.map((i) => [i.name, i.error?.code ?? null]), [
    ["Bag/a.png", null],
    ["Bag/cut.png", null],
    ["Bag/notes.txt", "unsupported_image_format"],
  ]);
  assert.deepEqual(d.ignored, [".DS_Store", "__MACOSX/Bag/._a.png"]);
  const spec = { channels: 1 as const, height: 4, width: 4 };
  const ok = await decodeDatasetImage(d.images[0], spec, 1e6);
  assert.deepEqual(ok.pixels, toModelPixels(await decodeImage(A, 1e6), spec).pixels);
  const cut = await decodeDatasetImage(d.images[1], spec, 1e6);
  assert.equal(cut.error?.code, "undecodable_image");
  assert.equal((await decodeDatasetImage(d.images[2], spec, 1e6)).error?.code, "unsupported_image_format");
});

Deno.test("dataset: the builtin fashion-mnist-sample has 200 labelled PNGs and hashes like the same files zipped", async () => {
  const names = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
  ];
  const d = await readDataset({ kind: "builtin", name: "fashion-mnist-sample" }, names);
  assert.equal(d.images.length, 200);
  assert.equal(d.layout, "labels.csv");
  assert.ok(d.images.every((i) => i.error === null && i.source?.width === 28));
  const fixture: { file: string; label: number }[] = JSON.parse(
    await Deno.readTextFile(new URL("../../tests/fixtures/fashion/labels.json", import.meta.url)),
  );
  assert.deepEqual(d.images.map((i) => i.label), fixture.slice(0, 200).map((f) => f.label));
  const counts = new Array(10).fill(0);
  for (const f of fixture.slice(0, 200)) counts[f.label]++;
  assert.deepEqual(d.counts, counts);
  const files: Zippable = {};
  for (const i of d.images) files[`${names[i.label].replace("/", "_")}/${i.name}`] = i.bytes;
  const zipped = await readDataset({ kind: "archive", bytes: zip(files) }, names);
  assert.notEqual(zipped.sha256, d.sha256, "names differ (folder prefix), so the hash differs");
  const json = await readDataset({
    kind: "json",
    value: d.images.map((i) => ({ name: i.name, image: i.bytes.toBase64(), label: i.label })),
  }, names);
  assert.equal(json.sha256, d.sha256);
  const unknown = await readDataset({ kind: "builtin", name: "nope" }, names).catch((e) => e);
  assert.equal(unknown.code, "unknown_dataset");
});
