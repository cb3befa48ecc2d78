import { Ajv2020 } from "ajv/dist/2020.js";

// deno-lint-ignore no-explicit-any
export type OpenApiDocument = any;

/**
 * Validates values against the JSON Schemas inside an OpenAPI 3.1 document (which are JSON Schema 2020-12), by
 * JSON pointer into the document, e.g. `/components/schemas/CheckReport`. Strict: a schema keyword Ajv does not
 * know, or a format nobody declared, fails compilation instead of being ignored.
 */
export function schemaValidator(doc: OpenApiDocument): (pointer: string, value: unknown) => string[] {
  // Tuples are the one strictness we relax: a zod tuple is documented without minItems/maxItems.
  const ajv = new Ajv2020({ strict: true, strictTuples: false, allErrors: true });
  // The document's own top-level fields and OpenAPI's `example` are not JSON Schema keywords.
  ajv.addVocabulary([...Object.keys(doc), "example"]);
  ajv.addFormat("binary", true);
  ajv.addSchema({ ...doc, $id: "openapi.json" });
  return (pointer, value) => {
    const validate = ajv.getSchema(`openapi.json#${pointer}`);
    if (!validate) throw new Error(`no schema at ${pointer}`);
    return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
  };
}

/** JSON pointer escaping (RFC 6901). */
export function pointerTo(...tokens: string[]): string {
  return tokens.map((t) => "/" + t.replaceAll("~", "~0").replaceAll("/", "~1")).join("");
}
