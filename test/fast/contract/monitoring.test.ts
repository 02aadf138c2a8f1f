import { afterAll } from "bun:test";
import { monitoringContract } from "../../contract/monitoring";
import { cleanup } from "../../helpers/cleanup";
import { inProcess } from "../../helpers/target";

afterAll(cleanup);
monitoringContract(inProcess);
