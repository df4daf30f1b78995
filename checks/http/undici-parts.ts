/**
 * The parts of undici a check run uses, each loaded from its own module. undici's index also
 * loads fetch, WebSocket, EventSource, the cache and the mock agents: in a 128 MB Lambda that is
 * several MiB of heap a hook never uses.
 */
import type * as Undici from 'undici';

/* eslint-disable @typescript-eslint/no-require-imports */
export const Agent = require('undici/lib/dispatcher/agent.js') as typeof Undici.Agent;
export type Agent = Undici.Agent;
export const buildConnector = require('undici/lib/core/connect.js') as typeof Undici.buildConnector;
export const errors = require('undici/lib/core/errors.js') as typeof Undici.errors;
const cookies = require('undici/lib/web/cookies/parse.js') as {
  parseSetCookie(header: string): Undici.Cookie | null;
};
/* eslint-enable @typescript-eslint/no-require-imports */

/** A `Set-Cookie` header's cookie (name, value, attributes), or null when it has none. */
export const parseSetCookie = cookies.parseSetCookie;
