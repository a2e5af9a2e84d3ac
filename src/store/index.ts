// Public face of the state store.
export { openStore, DATABASE_FILE } from "./open.js";
export type { Store, StoreOptions } from "./open.js";
export type { TokenInfo, TokenRecord } from "./tokens.js";
export type { ListRunnersOptions, NewRunner, RunnerRecord, RunnerResult } from "./runners.js";
export type { EventLevel, EventRecord, ListEventsOptions, NewEvent } from "./events.js";
export type { JobTable, ListJobsFilter, QueueWaitFilter } from "./jobs.js";
export { MIGRATIONS } from "./migrations.js";
