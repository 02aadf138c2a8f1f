/**
 * Worker entry points. In a compiled binary every module is bundled into the
 * main entry, so a path relative to the module that starts a worker would
 * point at the wrong place; this file sits beside the main entry, so paths
 * relative to it hold both when run from source and when compiled. Each entry
 * point is also listed in src/bundle.ts, which build.ts compiles.
 */
export const QUERY_WORKER = new URL("./modules/query/worker.ts", import.meta.url);
export const CHECKPOINT_WORKER = new URL("./store/checkpoint-worker.ts", import.meta.url);
export const COPY_WORKER = new URL("./store/copy-worker.ts", import.meta.url);
export const ERASE_WORKER = new URL("./modules/erasure/worker.ts", import.meta.url);
