/** Moved to shards.ts; kept so that older imports keep working. */
export * from "./shards";
