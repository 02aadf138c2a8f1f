import { Elysia } from "elysia";
import { auth, type Credentials } from "./http/auth";
import { errorResponses } from "./http/errors";
import { adminRoutes } from "./modules/admin";
import { ingestRoutes } from "./modules/ingest";
import type { IngestService } from "./modules/ingest/service";
import { queryRoutes } from "./modules/query";
import type { Store } from "./store/store";

export interface AppDeps {
  version: string;
  store: Store;
  ingest: IngestService;
  credentials: Credentials;
  maxBodyBytes: number;
  retentionMonths: number;
}

/** The whole HTTP surface, in order: error mapping, the open welcome route, auth, then the rest. */
export function createApp({ version, store, ingest, credentials, maxBodyBytes, retentionMonths }: AppDeps) {
  return new Elysia()
    .use(errorResponses)
    .get("/", () => ({ message: "Welcome to micro-analytics!", version }))
    .use(auth(credentials))
    .use(ingestRoutes(ingest, maxBodyBytes, retentionMonths))
    .use(queryRoutes(store))
    .use(adminRoutes(store));
}
