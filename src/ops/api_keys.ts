import { z } from "zod";

/** What a key may do; `admin` implies every other scope. */
export const SCOPES = ["read", "check", "write", "admin"] as const;
export type Scope = typeof SCOPES[number];

const KeysFileSchema = z.object({
  keys: z.array(
    z.object({
      /** A name for logs and metrics; never the key itself. */
      id: z.string().min(1).max(64).regex(/^[\w.-]+$/),
      /** Hex SHA-256 of the key as the client sends it (`printf %s "$KEY" | sha256sum`). */
      sha256: z.string().regex(/^[0-9a-f]{64}$/i).transform((s) => s.toLowerCase()),
      scopes: z.array(z.enum(SCOPES)).min(1),
      /** Requests per minute for this key; default ROBUSTCHECK_RATE_PER_MINUTE. */
      ratePerMinute: z.number().positive().optional(),
    }).strict(),
  ),
}).strict();

export interface ApiKey {
  id: string;
  scopes: ReadonlySet<Scope>;
  ratePerMinute: number;
}

/** The operator's keys, looked up by the SHA-256 of the presented key (keys are hashed at rest). */
export class ApiKeys {
  readonly #byHash: Map<string, ApiKey>;

  constructor(entries: { sha256: string; key: ApiKey }[]) {
    this.#byHash = new Map(entries.map((e) => [e.sha256, e.key]));
  }

  get size(): number {
    return this.#byHash.size;
  }

  async find(presented: string): Promise<ApiKey | undefined> {
    return this.#byHash.get(await sha256Hex(presented));
  }
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Reads ROBUSTCHECK_API_KEYS_FILE: `{"keys": [{"id", "sha256", "scopes", "ratePerMinute"?}]}`. */
export async function loadApiKeys(path: string | undefined, defaultRatePerMinute: number): Promise<ApiKeys> {
  if (path === undefined) return new ApiKeys([]);
  const parsed = KeysFileSchema.safeParse(JSON.parse(await Deno.readTextFile(path)));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${path}: ${issue.path.join(".")}: ${issue.message}`);
  }
  const ids = new Set<string>();
  return new ApiKeys(parsed.data.keys.map((k) => {
    if (ids.has(k.id)) throw new Error(`${path}: key id "${k.id}" appears twice`);
    ids.add(k.id);
    return {
      sha256: k.sha256,
      key: { id: k.id, scopes: new Set(k.scopes), ratePerMinute: k.ratePerMinute ?? defaultRatePerMinute },
    };
  }));
}

/** Whether a key's scopes grant `needed`. */
export function grants(scopes: ReadonlySet<Scope>, needed: Scope): boolean {
  return scopes.has("admin") || scopes.has(needed);
}
