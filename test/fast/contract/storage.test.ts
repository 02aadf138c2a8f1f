import { afterAll } from "bun:test";
import { storageContract } from "../../contract/storage";
import { cleanup } from "../../helpers/cleanup";
import { inProcess } from "../../helpers/target";

afterAll(cleanup);
storageContract(inProcess);
