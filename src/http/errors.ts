import { Elysia } from "elysia";
import { AppError } from "../errors";

/**
 * The one place errors become HTTP answers: `{code, message}` with the
 * contract's status. Faults that are not AppErrors are logged and hidden
 * behind a plain 500.
 */
export const errorResponses = new Elysia({ name: "errors" })
  .error({ AppError })
  .onError({ as: "global" }, ({ code, error, request }) => {
    if (error instanceof AppError) return answer(error);
    switch (code) {
      case "NOT_FOUND":
        return answer(new AppError("NotFound", `There is no route ${request.method} ${new URL(request.url).pathname}.`));
      case "PARSE":
        return answer(new AppError("InvalidJSON", "The request body is not valid JSON."));
      default:
        console.error(`${request.method} ${new URL(request.url).pathname} failed:`, error);
        return answer(new AppError("InternalError", "The service failed to answer; the fault has been logged."));
    }
  });

function answer(error: AppError): Response {
  return Response.json(
    { code: error.code, message: error.message },
    { status: error.status, headers: error.headers },
  );
}
