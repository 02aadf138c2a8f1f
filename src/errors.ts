/**
 * Every failure a client can see is an AppError: a stable code from the
 * contract, the HTTP status it maps to, and a message a person can act on.
 * `src/http/errors.ts` turns them into responses in one place.
 */
export type ErrorCode =
  | "InvalidJSON"
  | "InvalidTimeFormat"
  | "InvalidTimeRange"
  | "InvalidTimeZone"
  | "InvalidInterval"
  | "InvalidProperty"
  | "InvalidParameter"
  | "InvalidRequest"
  | "InvalidEvent"
  | "InvalidWebsiteName"
  | "InvalidDatabaseName"
  | "InvalidCredentials"
  | "InvalidAuthentication"
  | "Forbidden"
  | "NotFound"
  | "PayloadTooLarge"
  | "LimitExceeded"
  | "MethodNotAllowed"
  | "InsertFailed"
  | "InternalError"
  | "Conflict"
  | "WebsiteMoved"
  | "WebsiteMoving"
  | "ForwardFailed"
  | "NodeUnavailable"
  | "MoveFailed";

const STATUS: Record<ErrorCode, number> = {
  InvalidJSON: 400,
  InvalidTimeFormat: 400,
  InvalidTimeRange: 400,
  InvalidTimeZone: 400,
  InvalidInterval: 400,
  InvalidProperty: 400,
  InvalidParameter: 400,
  InvalidRequest: 400,
  InvalidEvent: 400,
  InvalidWebsiteName: 400,
  InvalidDatabaseName: 404,
  InvalidCredentials: 401,
  InvalidAuthentication: 401,
  Forbidden: 403,
  NotFound: 404,
  PayloadTooLarge: 413,
  LimitExceeded: 400,
  MethodNotAllowed: 405,
  InsertFailed: 500,
  InternalError: 500,
  Conflict: 409,
  WebsiteMoved: 421,
  WebsiteMoving: 503,
  ForwardFailed: 502,
  NodeUnavailable: 502,
  MoveFailed: 502,
};

export class AppError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Headers the response must carry, such as a 401's WWW-Authenticate. */
    readonly headers: Record<string, string> = {},
    /** Fields for programs beside `code` and `message`, such as what a split bulk stored. */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "AppError";
    this.status = STATUS[code];
  }
}
