/**
 * The contract, written once as functions of a target: each declares its
 * tests against what `targets.shared()` or `targets.open()` gives. test/fast/contract/ runs each
 * in process; test/process/contract.test.ts runs them all against the
 * compiled binary over HTTP. A new area is a file here, a line below, and a
 * three-line runner in test/fast/contract/. (concurrency.ts is written the
 * same way but runs in the process tier only; see there.)
 */
import type { Targets } from "../helpers/target";
import { authContract } from "./auth";
import { cacheContract } from "./cache";
import { exportContract } from "./export";
import { ingestContract } from "./ingest";
import { monitoringContract } from "./monitoring";
import { optionsContract } from "./options";
import { poolContract } from "./pool";
import { queryContract } from "./query";
import { refusalsContract } from "./refusals";
import { storageContract } from "./storage";
import { uniqueContract } from "./unique";

export const CONTRACT: Record<string, (targets: Targets) => void> = {
  ingest: ingestContract,
  query: queryContract,
  export: exportContract,
  unique: uniqueContract,
  cache: cacheContract,
  storage: storageContract,
  auth: authContract,
  refusals: refusalsContract,
  monitoring: monitoringContract,
  options: optionsContract,
  pool: poolContract,
};
