/**
 * `deno task bench:profiles [--write] [--images=N] [--large-images=M] [--slow-images=K] [--models=shipped,imagenet]
 * [--profiles=screen,standard,thorough]`
 *
 * Latency of each check profile (README "Check profiles") per model and backend (wasm, native): p50/p95 of the HTTP
 * round trip of `POST /v1/models/{id}/check` with `{profile}` only, over loopback against in-process servers
 * (bench/check_latency.ts starts them), after SCREEN_WARM_UP warm-up checks of screen and one of each other profile
 * (on an image not timed), profiles interleaved image by image so
 * that load drift hits them alike. Models: the shipped ones on N fixture images each (default 10), and MobileNetV2 and
 * ResNet-18 at 224² (bench/models.ts exports them on first use; random weights) on M 224² images (default N) for
 * `screen` and K (default 2) for `standard`/`thorough`, which take seconds to minutes there (warm-up: screen and
standard only). The 224² images are the
 * fashion-rgb fixtures resized bilinearly (kernels/resize.ts) and sent as PNGs, so decoding is timed as for a real
 * upload. `--write` replaces the "Check profiles" section of BENCHMARKS.md (between its markers; inserted before
 * "## Notes" the first time) and leaves the rest alone.
 */
import { Buffer } from "node:buffer";
import { PNG } from "pngjs";
import { resizeBilinear } from "../kernels/resize.ts";
import { pngBase64 } from "../src/check/images.ts";
import { PROFILES } from "../src/check/options.ts";
import { startServers, stopServers } from "./check_latency.ts";
import { THREADS } from "./gradient_cost.ts";
import { loadAverage } from "./machine.ts";
import { CACHE_DIR, ensureImagenetModels, SHIPPED } from "./models.ts";
import { median, ms, quantile } from "./stats.ts";
import { markdownTable } from "./table.ts";
import { writeMarkedSection } from "./marked_section.ts";

const FIXTURES = new URL("../tests/fixtures/", import.meta.url).pathname;
const START = "<!-- profiles:start (bench/check_profiles.ts --write) -->";
const END = "<!-- profiles:end -->";
/** The report's stage timings shown for `screen` (README "Check profiles"). */
const SCREEN_STAGES = [
  "cleanGradientMs",
  "squeezeMs",
  "randomizationMs",
  "screeningForwardMs",
  "fgsmMs",
  "totalMs",
] as const;
const SIDE = 224;
/** Warm-up checks of `screen` per model and backend (one of each other profile). */
const SCREEN_WARM_UP = 20;

interface Row {
  model: string;
  backend: string;
  profile: string;
  cost: number;
  images: number;
  p50: number;
  p95: number;
  /** Median of each report timing over the images. */
  stages: Record<string, number>;
}

interface Args {
  write: boolean;
  images: number;
  largeImages: number;
  slowImages: number;
  models: ("shipped" | "imagenet")[];
  profiles: string[];
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    write: false,
    images: 10,
    largeImages: NaN,
    slowImages: 2,
    models: ["shipped", "imagenet"],
    profiles: [...PROFILES],
  };
  const count = (v: string | undefined) => Number(v) >= 1 ? Math.min(30, Math.floor(Number(v))) : NaN;
  for (const arg of argv) {
    const [key, value] = arg.replace(/^--/, "").split("=", 2);
    if (key === "write") args.write = true;
    else if (key === "images" && count(value)) args.images = count(value);
    else if (key === "large-images" && count(value)) args.largeImages = count(value);
    else if (key === "slow-images" && count(value)) args.slowImages = count(value);
    else if (key === "models" && value && value.split(",").every((m) => m === "shipped" || m === "imagenet")) {
      args.models = value.split(",") as Args["models"];
    } else if (
      key === "profiles" && value && value.split(",").every((p) => (PROFILES as readonly string[]).includes(p))
    ) {
      args.profiles = value.split(",");
    } else {
      throw new Error(
        `unknown argument ${arg} (use --write, --images=N, --large-images=M, --slow-images=K, --models=shipped,imagenet, --profiles=screen,…)`,
      );
    }
  }
  if (Number.isNaN(args.largeImages)) args.largeImages = args.images;
  return args;
}

/** One model to time: the images (base64) and how many of them each profile is timed on. */
interface Target {
  id: string;
  images: string[];
  warmUp: string;
  warmUpProfiles: readonly string[];
  count: (profile: string) => number;
}

async function check(url: string, image: string, profile: string) {
  const start = performance.now();
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ image, options: { profile } }),
  });
  const body = await response.json();
  const elapsed = performance.now() - start;
  if (!response.ok) throw new Error(`${url} ${profile}: HTTP ${response.status} ${JSON.stringify(body)}`);
  return { ms: elapsed, cost: body.cost.estimated as number, timings: body.timings as Record<string, number> };
}

async function fixtureFiles(set: "fashion" | "fashion-rgb", count: number): Promise<Uint8Array[]> {
  const dir = `${FIXTURES}${set}/`;
  const labels: { file: string }[] = JSON.parse(await Deno.readTextFile(`${dir}labels.json`));
  return await Promise.all(labels.slice(0, count).map((l) => Deno.readFile(`${dir}${l.file}`)));
}

/** A fixture PNG resized bilinearly to SIDE×SIDE, as a base64 PNG. */
function upscaled(bytes: Uint8Array): string {
  const png = PNG.sync.read(Buffer.from(bytes));
  const plane = png.width * png.height;
  const chw = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let k = 0; k < 3; k++) chw[k * plane + i] = png.data[4 * i + k] / 255;
  }
  const shape = { channels: 3, height: png.height, width: png.width };
  return pngBase64(resizeBilinear(chw, shape, SIDE, SIDE), { channels: 3, height: SIDE, width: SIDE });
}

async function measure(
  env: Record<string, string>,
  targets: Target[],
  profiles: readonly string[],
  notes: string[],
): Promise<Row[]> {
  const servers = await startServers(
    [{ backend: "wasm", threads: THREADS }, { backend: "native", threads: THREADS }],
    notes,
    env,
  );
  const rows: Row[] = [];
  try {
    for (const target of targets) {
      for (const server of servers) {
        const url = `${server.url}/v1/models/${target.id}/check`;
        const samples = new Map(profiles.map((p) => [p, [] as Awaited<ReturnType<typeof check>>[]]));
        for (const p of target.warmUpProfiles.filter((p) => profiles.includes(p))) {
          // Warm-up, not measured. A fresh server runs its first checks slower (MobileNetV2 224² screen, native:
          // p50 85 ms over checks 1–20, 58–67 ms from there on, 2026-12-02), so screen warms up to its steady state.
          for (let i = 0; i < (p === "screen" ? SCREEN_WARM_UP : 1); i++) await check(url, target.warmUp, p);
        }
        for (const [i, image] of target.images.entries()) {
          for (const p of profiles) if (i < target.count(p)) samples.get(p)!.push(await check(url, image, p));
        }
        for (const p of profiles) {
          const s = samples.get(p)!;
          const times = s.map((r) => r.ms);
          const stages = Object.fromEntries(
            Object.keys(s[0].timings).map((k) => [k, median(s.map((r) => r.timings[k] ?? 0))]),
          );
          rows.push({
            model: target.id,
            backend: server.name,
            profile: p,
            cost: s[0].cost,
            images: s.length,
            p50: quantile(times, 0.5),
            p95: quantile(times, 0.95),
            stages,
          });
        }
      }
    }
  } finally {
    await stopServers(servers);
  }
  return rows;
}

async function shippedTargets(args: Args): Promise<Target[]> {
  return await Promise.all(SHIPPED.map(async (model) => {
    const files = (await fixtureFiles(model.fixtures, args.images + 1)).map((b) => b.toBase64());
    return {
      id: model.id,
      images: files.slice(0, args.images),
      warmUp: files[args.images],
      warmUpProfiles: PROFILES,
      count: () => args.images,
    };
  }));
}

async function imagenetTargets(args: Args, notes: string[]): Promise<Target[]> {
  const models = await ensureImagenetModels((line) => console.error(line));
  if (typeof models === "string") {
    notes.push(`224² models not timed: ${models}`);
    return [];
  }
  const count = Math.max(args.largeImages, args.slowImages);
  const images = (await fixtureFiles("fashion-rgb", count + 1)).map(upscaled);
  return await Promise.all(models.map(async (model) => {
    const { id } = JSON.parse(await Deno.readTextFile(`${model.dir}/manifest.json`));
    return {
      id,
      images: images.slice(0, count),
      warmUp: images[count],
      // thorough's sessions are standard's; warming it up would cost a minute per model and backend.
      warmUpProfiles: ["screen", "standard"],
      count: (profile: string) => profile === "screen" ? args.largeImages : args.slowImages,
    };
  }));
}

function render(rows: Row[], load: string[], args: Args, notes: string[]): string {
  const table = markdownTable(
    ["model", "backend", "profile", "cost (forward passes)", "images", "p50 ms", "p95 ms"],
    rows.map((r) => [r.model, r.backend, r.profile, String(r.cost), String(r.images), ms(r.p50), ms(r.p95)]),
  );
  const stages = markdownTable(
    ["model", "backend", ...SCREEN_STAGES],
    rows.filter((r) => r.profile === "screen").map((r) => [
      r.model,
      r.backend,
      ...SCREEN_STAGES.map((k) => ms(r.stages[k] ?? NaN)),
    ]),
  );
  const flags = [
    args.write ? " --write" : "",
    ` --images=${args.images}`,
    args.models.includes("imagenet") ? ` --large-images=${args.largeImages} --slow-images=${args.slowImages}` : "",
    args.models.length < 2 ? ` --models=${args.models.join(",")}` : "",
    args.profiles.length < PROFILES.length ? ` --profiles=${args.profiles.join(",")}` : "",
  ].join("");
  return [
    START,
    "## Check profiles",
    "",
    `\`deno task bench:profiles${flags}\` (bench/check_profiles.ts): ` +
    "`POST /v1/models/{id}/check` with `{profile}` only over loopback, HTTP round trip, profiles interleaved image " +
    `by image after ${SCREEN_WARM_UP} warm-up checks of screen and one of each other profile, ${THREADS} threads, ` +
    `${new Date().toISOString()}; load average (1/5/15 min) at start ${load[0]}, ` +
    `at end ${load[1]}. bench-* are torchvision MobileNetV2 / ResNet-18 with random weights at 224² ` +
    "(bench/models.ts), checked on fashion-rgb fixtures resized to 224² and sent as PNGs.",
    "",
    table,
    "",
    "Median stage timings of `screen` (ms, from each report's `timings`; totalMs excludes HTTP and decoding):",
    "",
    stages,
    ...(notes.length ? ["", ...notes.map((n) => `- ${n}`)] : []),
    "",
    END,
  ].join("\n");
}

/** Replaces the marked section; the first time it goes before "## Notes". */
function write(section: string): Promise<void> {
  return writeMarkedSection(section, START, END, (text, s) => text.replace("\n## Notes\n", `\n${s}\n\n## Notes\n`));
}

if (import.meta.main) {
  const args = parseArgs(Deno.args);
  const notes: string[] = [];
  const load = [await loadAverage()];
  const rows: Row[] = [];
  if (args.models.includes("shipped")) {
    rows.push(...await measure({}, await shippedTargets(args), args.profiles, notes));
  }
  if (args.models.includes("imagenet")) {
    const targets = await imagenetTargets(args, notes);
    // thorough takes minutes at 224² on wasm: past the default 120 s request deadline.
    const env = { ROBUSTCHECK_MODELS_DIR: CACHE_DIR, ROBUSTCHECK_REQUEST_TIMEOUT_MS: "900000" };
    if (targets.length > 0) rows.push(...await measure(env, targets, args.profiles, notes));
  }
  load.push(await loadAverage());
  const section = render(rows, load, args, notes);
  console.log(section);
  if (args.write) await write(section);
}
