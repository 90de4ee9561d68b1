import { errorEnvelope } from "../sse/error-frame.ts";

/**
 * Anthropic-shaped errors (PROTOCOL.md "Error envelope"): the same envelope serves
 * HTTP error bodies and the data of an in-stream `event: error` frame.
 */
export const ERROR_TYPE_BY_STATUS: Readonly<Record<number, string>> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  405: "invalid_request_error",
  413: "request_too_large",
  415: "invalid_request_error",
  429: "rate_limit_error",
  500: "api_error",
  502: "api_error",
  503: "api_error",
  504: "timeout_error",
  529: "overloaded_error",
};

export function errorResponse(status: number, message: string, rid: string, type?: string, headers: Record<string, string> = {}): Response {
  return new Response(errorEnvelope(type ?? ERROR_TYPE_BY_STATUS[status] ?? "api_error", message, rid), {
    status,
    headers: { "content-type": "application/json", "request-id": rid, "x-ccp-rid": rid, ...headers },
  });
}
