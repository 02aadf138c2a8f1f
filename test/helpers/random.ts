/** Moved to fuzz.ts; kept so that older imports keep working. */
export { seededRandom } from "./fuzz";
