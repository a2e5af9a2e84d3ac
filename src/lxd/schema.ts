// Zod schemas for the parts of LXD's answers runnerd reads; unknown fields pass through untouched.
import { z } from "zod";

const stringMap = z.record(z.string(), z.string());

/** Every LXD answer is one of three envelopes: sync, async (an operation) or error. */
export const envelopeSchema = z.looseObject({
  type: z.enum(["sync", "async", "error"]),
  status_code: z.number().optional(),
  error_code: z.number().optional(),
  error: z.string().optional(),
  operation: z.string().optional(),
  metadata: z.unknown().optional(),
});
export type Envelope = z.infer<typeof envelopeSchema>;

export const operationSchema = z.looseObject({
  id: z.string(),
  class: z.string().optional(),
  description: z.string().optional(),
  status: z.string(),
  status_code: z.number(),
  err: z.string().optional(),
  may_cancel: z.boolean().optional(),
  // null while running; the result (exec return code, image fingerprint, ...) once done.
  metadata: z.record(z.string(), z.unknown()).nullish(),
  resources: z.record(z.string(), z.array(z.string())).nullish(),
});
export type OperationBody = z.infer<typeof operationSchema>;

// LXD 5.0 serialises these with Go's field names (Name, Version); newer releases use lower case.
const storageDriverSchema = z.looseObject({
  name: z.string().optional(),
  Name: z.string().optional(),
  version: z.string().optional(),
  Version: z.string().optional(),
});

export const serverSchema = z.looseObject({
  api_extensions: z.array(z.string()),
  auth: z.string(),
  environment: z
    .looseObject({
      server: z.string().optional(),
      server_version: z.string().optional(),
      server_name: z.string().optional(),
      server_clustered: z.boolean().optional(),
      driver: z.string().optional(),
      kernel_version: z.string().optional(),
      storage_supported_drivers: z.array(storageDriverSchema).optional(),
    })
    .optional(),
});

export const instanceSchema = z.looseObject({
  name: z.string(),
  status: z.string(),
  status_code: z.number(),
  type: z.string().optional(),
  location: z.string().optional(),
  created_at: z.string(),
  config: stringMap.nullish(),
  devices: z.record(z.string(), stringMap).nullish(),
  profiles: z.array(z.string()).nullish(),
  ephemeral: z.boolean().optional(),
});
export type InstanceBody = z.infer<typeof instanceSchema>;

export const instanceStateSchema = z.looseObject({
  status: z.string(),
  status_code: z.number(),
  pid: z.number().optional(),
  processes: z.number().optional(),
  memory: z.looseObject({ usage: z.number().optional(), usage_peak: z.number().optional() }).nullish(),
  disk: z.record(z.string(), z.looseObject({ usage: z.number().optional() })).nullish(),
  cpu: z.looseObject({ usage: z.number().optional() }).nullish(),
});

/** The result an exec operation records when `record-output` is on. */
export const execResultSchema = z.looseObject({
  return: z.number(),
  output: z.record(z.string(), z.string()).optional(),
});

export const imageSchema = z.looseObject({
  fingerprint: z.string(),
  aliases: z.array(z.looseObject({ name: z.string(), description: z.string().optional() })).nullish(),
  properties: stringMap.nullish(),
  architecture: z.string().optional(),
  size: z.number().optional(),
  type: z.string().optional(),
  cached: z.boolean().optional(),
  created_at: z.string().optional(),
  uploaded_at: z.string().optional(),
});
export type ImageBody = z.infer<typeof imageSchema>;

export const imageAliasSchema = z.looseObject({ name: z.string(), target: z.string() });

export const storagePoolSchema = z.looseObject({
  name: z.string(),
  driver: z.string(),
  status: z.string().optional(),
  config: stringMap.nullish(),
});

export const storagePoolResourcesSchema = z.looseObject({
  space: z.looseObject({ used: z.number().optional(), total: z.number() }),
  inodes: z.looseObject({ used: z.number().optional(), total: z.number().optional() }).optional(),
});

/** `GET /1.0/resources`: only the totals runnerd sizes runners by. */
export const hostResourcesSchema = z.looseObject({
  cpu: z.looseObject({ total: z.number() }),
  memory: z.looseObject({ total: z.number() }),
});

export const stringListSchema = z.array(z.string()).nullable();

export const eventSchema = z.looseObject({
  type: z.string(),
  timestamp: z.string(),
  project: z.string().optional(),
  location: z.string().optional(),
  metadata: z.unknown(),
});

export const lifecycleMetadataSchema = z.looseObject({
  action: z.string(),
  source: z.string(),
  context: z.record(z.string(), z.unknown()).nullish(),
  requestor: z.looseObject({ username: z.string().optional(), protocol: z.string().optional() }).nullish(),
});
