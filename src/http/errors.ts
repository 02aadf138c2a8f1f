import { Elysia } from "elysia";
import { AppError } from "../errors";
import type { Logger } from "../observe/log";
import { jsonResponse, noteAnswerBytes } from "./answer";
import { loggedPath, pathOf } from "./website-param";

/**
 * The one place errors become HTTP answers: `{code, message}` with the
 * contract's status. Faults that are not AppErrors are logged with their
 * context and hidden behind a plain 500.
 */
export function errorResponses(log: Logger) {
  return new Elysia({ name: "errors" })
    .error({ AppError })
    .onError({ as: "global" }, ({ code, error, request, set }) => {
      const path = pathOf(request);
      let answer: AppError;
      if (error instanceof AppError) answer = error;
      else if (code === "NOT_FOUND") answer = new AppError("NotFound", `There is no route ${request.method} ${path}.`);
      else if (code === "PARSE") answer = new AppError("InvalidJSON", "The request body is not valid JSON.");
      else {
        log.error(`${request.method} ${loggedPath(request)} failed`, { error: describe(error) });
        answer = new AppError("InternalError", "The service failed to answer; the fault has been logged.");
      }
      // Read by the request log and metrics after the answer is sent.
      set.status = answer.status;
      const body = JSON.stringify({ code: answer.code, message: answer.message, ...answer.details });
      noteAnswerBytes(request, Buffer.byteLength(body));
      return jsonResponse(body, answer.status, answer.headers);
    });
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
}
