// How long a queued job counts as demand: its in_progress or completed webhook may be lost, and a
// job nobody picks up must not hold a runner forever.
export const DEMAND_MAX_AGE_MS = 60 * 60_000;
