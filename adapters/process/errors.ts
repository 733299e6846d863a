/** The error catalogue: stable codes and HTTP statuses shared by every endpoint. */
export const ERRORS = {
  bad_request: 400,
  invalid_json: 400,
  too_deep: 400,
  schema: 400,
  unknown_department: 400,
  unknown_kind: 400,
  unstorable: 400,
  too_large: 413,
  unsupported_media_type: 415,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  unknown_customer: 404,
  conflict: 409,
  unavailable: 503,
  internal: 500,
} as const;
export type ErrorCode = keyof typeof ERRORS;

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
  get status(): number {
    return ERRORS[this.code];
  }
  toJSON() {
    return { error: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) };
  }
}
