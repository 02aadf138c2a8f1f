import { afterAll } from "bun:test";
import { ingestContract } from "../../contract/ingest";
import { cleanup } from "../../helpers/cleanup";
import { inProcess } from "../../helpers/target";

afterAll(cleanup);
ingestContract(inProcess);
