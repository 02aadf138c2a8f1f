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

/**
 * Lets a worker keep the process alive exactly while an answer from it is
 * awaited. Unref'd, a worker lets a command end and a stopped service exit
 * without being told; but Bun's event loop spins a core at 100 % while it
 * awaits a message from an unref'd worker and nothing else (a listening
 * socket, a timer) keeps it alive, as in a command or a service opened in
 * process by the tests. So each worker is ref'd while it owes an answer and
 * unref'd once it owes none.
 */
export function keepAliveWhile(worker: Worker, owesAnswers: boolean): void {
  if (owesAnswers) worker.ref();
  else worker.unref();
}

/** What a worker is sent to stop: it ends itself between two tasks (see stopWorker). */
export const STOP = "stop";

/** How long a worker stopping may take to finish its task (a query asked just before a stop). */
const STOP_WAIT_MS = 5000;

/**
 * Stops a worker that reads or writes shards, and settles once it is gone. It
 * is asked to end itself (each such worker opens a shard for one task and
 * closes it after), so it stops between two tasks, with no shard left open:
 * a shard's last connection, the writer's, then folds its WAL into the shard
 * and removes it, which it cannot while a worker's connection stays open.
 * A worker still busy after STOP_WAIT_MS is cut short.
 */
export async function stopWorker(worker: Worker): Promise<"stopped" | "cut short"> {
  const { promise: outcome, resolve } = Promise.withResolvers<"stopped" | "cut short">();
  worker.addEventListener("close", () => resolve("stopped"), { once: true });
  const cut = setTimeout(() => resolve("cut short"), STOP_WAIT_MS);
  keepAliveWhile(worker, true);
  worker.postMessage(STOP);
  await outcome;
  clearTimeout(cut);
  worker.terminate();
  return outcome;
}
