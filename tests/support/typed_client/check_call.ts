// A client of the API written only against types generated from /openapi.json (openapi-typescript) and called
// with openapi-fetch. tests/api_reference_test.ts copies this file next to a freshly generated `api.d.ts`,
// type-checks it with `deno check` and runs it against a real server; in place, `./api.d.ts` does not exist.
import createClient from "openapi-fetch";
import type { components, paths } from "./api.d.ts";

type CheckOptions = components["schemas"]["CheckOptions"];

/**
 * One `/check` call with a JSON body; returns the typed report, or throws the typed error. (The return type is
 * inferred: openapi-fetch's response types turn the report's tuples into arrays, so it is not quite
 * `components["schemas"]["CheckReport"]`.)
 */
export async function checkImage(baseUrl: string, modelId: string, imageBase64: string) {
  const client = createClient<paths>({ baseUrl });
  const options: CheckOptions = {
    label: 9,
    seed: 7,
    squeeze: false,
    randomization: false,
    fgsm: { eps: [0.1] },
    pgd: [{ norm: "linf", eps: 0.1, steps: 10 }],
    minimalEpsilon: { bisectionSteps: 4 },
  };
  // @ts-expect-error the generated types know ε is a number: a string must not type-check
  const wrong: CheckOptions = { fgsm: { eps: ["0.1"] } };
  void wrong;
  const { data, error, response } = await client.POST("/v1/models/{id}/check", {
    params: { path: { id: modelId } },
    body: { image: imageBase64, options },
  });
  if (error) throw new Error(`${response.status} ${error.error.code}: ${error.error.message}`);
  const fragile: boolean = data.verdict.fragile;
  const firstProbe: "fgsm" | "pgd" | "eot-pgd" | undefined = data.probes[0]?.attack;
  if (fragile && firstProbe === undefined) throw new Error("a fragile verdict needs a probe");
  return data;
}

/** The typed error of an unknown model. */
export async function unknownModelError(baseUrl: string): Promise<{ status: number; code: string }> {
  const client = createClient<paths>({ baseUrl });
  const { error, response } = await client.POST("/v1/models/{id}/predict", {
    params: { path: { id: "no-such-model" }, query: { topK: 3 } },
    body: { image: "" },
  });
  if (!error) throw new Error("expected an error");
  return { status: response.status, code: error.error.code };
}
