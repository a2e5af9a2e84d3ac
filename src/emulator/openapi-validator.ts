// Checks request and response bodies against GitHub's own OpenAPI description (@octokit/openapi).
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { Ajv } from "ajv";
import type { ErrorObject, ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";

// ajv-formats is CommonJS with a default export; under NodeNext the callable sits on `.default`.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

const DOC_ID = "github-openapi";

export interface OperationSchemas {
  /** Returns a readable error list, or null when the body conforms. */
  checkRequest(body: unknown): string | null;
  checkResponse(status: number, body: unknown): string | null;
}

export interface SchemaCatalog {
  operation(operationId: string): OperationSchemas;
  /**
   * The payload check of one webhook under `x-webhooks`, e.g. `workflow-job-queued` or `ping`:
   * returns a readable error list, or null when the payload conforms.
   */
  webhook(name: string): (payload: unknown) => string | null;
}

type Json = Record<string, unknown>;

// The description is 13 MB; parse and compile it once per process, not once per emulator.
let catalogPromise: Promise<SchemaCatalog> | undefined;

export function loadSchemaCatalog(): Promise<SchemaCatalog> {
  catalogPromise ??= buildCatalog();
  return catalogPromise;
}

async function buildCatalog(): Promise<SchemaCatalog> {
  const require = createRequire(import.meta.url);
  const file = require.resolve("@octokit/openapi/generated/api.github.com.json");
  const doc = JSON.parse(await readFile(file, "utf8")) as Json;
  convertNullable(doc);
  // strict off: the description carries OpenAPI-only keywords (example, discriminator, x-*) and
  // formats like int64 or repo.nwo that JSON Schema does not know; those are ignored.
  const ajv = new Ajv({ strict: false, validateSchema: false, allErrors: true, logger: false });
  addFormats(ajv);
  ajv.addSchema(doc, DOC_ID);
  const operations = indexOperations(doc);
  const compiled = new Map<string, ValidateFunction>();
  const compile = (pointer: string): ValidateFunction => {
    let fn = compiled.get(pointer);
    if (fn === undefined) {
      fn = ajv.compile({ $ref: `${DOC_ID}#${pointer}` });
      compiled.set(pointer, fn);
    }
    return fn;
  };
  const check = (pointer: string | null, body: unknown): string | null => {
    if (pointer === null) return null;
    const validate = compile(pointer);
    return validate(body) ? null : formatErrors(validate.errors ?? []);
  };

  return {
    operation(operationId) {
      const op = operations.get(operationId);
      if (op === undefined) throw new Error(`operation ${operationId} is not in the OpenAPI description`);
      return {
        checkRequest: (body) => check(requestPointer(doc, op, body), body),
        checkResponse: (status, body) => check(responsePointer(doc, op, status), body),
      };
    },
    webhook(name) {
      const hooks = doc["x-webhooks"] as Record<string, { post?: Json }> | undefined;
      if (hooks?.[name]?.post === undefined) throw new Error(`webhook ${name} is not in the OpenAPI description`);
      const pointer = `/x-webhooks/${escapePointer(name)}/post/requestBody/content/application~1json/schema`;
      return (payload) => check(pointer, payload);
    },
  };
}

interface OperationRef {
  pointer: string;
  operation: Json;
}

function indexOperations(doc: Json): Map<string, OperationRef> {
  const result = new Map<string, OperationRef>();
  const paths = doc.paths as Record<string, Record<string, Json>>;
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(item)) {
      const id = operation.operationId;
      if (typeof id === "string") {
        result.set(id, { pointer: `/paths/${escapePointer(path)}/${method}`, operation });
      }
    }
  }
  return result;
}

function requestPointer(doc: Json, op: OperationRef, sent: unknown): string | null {
  const body = op.operation.requestBody as Json | undefined;
  if (body === undefined) return null;
  const [pointer, resolved] = follow(doc, `${op.pointer}/requestBody`, body);
  // An optional body may be left out (octokit sends none for create-installation-access-token).
  if (sent === undefined && resolved.required !== true) return null;
  return hasJsonSchema(resolved) ? `${pointer}/content/application~1json/schema` : null;
}

function responsePointer(doc: Json, op: OperationRef, status: number): string | null {
  const responses = op.operation.responses as Record<string, Json>;
  const response = responses[String(status)];
  if (response === undefined) {
    // Errors the description does not list still come in GitHub's basic error shape.
    return status >= 400 ? "/components/schemas/basic-error" : null;
  }
  const [pointer, resolved] = follow(doc, `${op.pointer}/responses/${status}`, response);
  return hasJsonSchema(resolved) ? `${pointer}/content/application~1json/schema` : null;
}

/** Follows one `$ref` between response or request-body objects (not schemas: ajv does those). */
function follow(doc: Json, pointer: string, node: Json): [string, Json] {
  const ref = node.$ref;
  if (typeof ref !== "string" || !ref.startsWith("#/")) return [pointer, node];
  const target = ref.slice(1);
  let cursor: unknown = doc;
  for (const part of target.split("/").slice(1)) {
    cursor = (cursor as Json)[part.replace(/~1/g, "/").replace(/~0/g, "~")];
  }
  return [target, cursor as Json];
}

function hasJsonSchema(node: Json): boolean {
  const content = node.content as Record<string, Json> | undefined;
  return content?.["application/json"]?.schema !== undefined;
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, "~0").replace(/\//g, "~1");
}

/** OpenAPI 3.0's `nullable: true` has no JSON Schema meaning; turn it into an explicit null branch. */
export function convertNullable(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) convertNullable(item);
    return;
  }
  if (typeof node !== "object" || node === null) return;
  const obj = node as Json;
  for (const value of Object.values(obj)) convertNullable(value);
  if (obj.nullable !== true) return;
  delete obj.nullable;
  if (typeof obj.type === "string" && obj.$ref === undefined && obj.anyOf === undefined
    && obj.oneOf === undefined && obj.allOf === undefined) {
    obj.type = [obj.type, "null"];
    if (Array.isArray(obj.enum) && !obj.enum.includes(null)) obj.enum = [...(obj.enum as unknown[]), null];
    return;
  }
  // A $ref or combinator: move everything into one branch beside a plain null branch.
  const inner: Json = {};
  for (const key of Object.keys(obj)) {
    if (key === "description" || key === "title") continue;
    inner[key] = obj[key];
    delete obj[key];
  }
  obj.anyOf = [inner, { type: "null" }];
}

function formatErrors(errors: ErrorObject[]): string {
  return errors
    .slice(0, 10)
    .map((e) => `${e.instancePath === "" ? "(body)" : e.instancePath} ${e.message ?? "is invalid"}`)
    .join("; ");
}
