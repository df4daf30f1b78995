import { redact, redactBodyText } from '../../lib/redact';
import { CONTEXT_BEFORE } from './body-scan';
import type { HttpResponse } from './client';

const EXCERPT_CHARS = 120;
/** Characters a body's bytes cannot be searched for: U+FFFD stands for invalid bytes once decoded. */
export const NEEDS_TEXT = /[\uD800-\uDFFF\uFFFD]/;

/** A response body parsed once, on demand, for every JSON assertion and capture. */
export class ParsedBody {
  private parsed?: { value: unknown } | { error: string };
  private textValue?: string;

  constructor(readonly response: HttpResponse) {}

  get text(): string {
    this.textValue ??= this.response.body.toString('utf8');
    return this.textValue;
  }

  /**
   * Whether the body holds `piece`, as `text.includes(piece)` says, without decoding a body that
   * was not decoded yet: its UTF-8 bytes are searched instead, which finds the same (a decoded
   * character never spans an invalid byte). A piece with U+FFFD or a lone surrogate, which only
   * the decoded text can match, is looked for in the text.
   */
  includes(piece: string): boolean {
    const scanned = this.response.scanned;
    if (scanned?.has(piece)) return scanned.get(piece) !== null;
    if (this.textValue !== undefined || NEEDS_TEXT.test(piece)) return this.text.includes(piece);
    return this.response.body.includes(piece);
  }

  /** The text from a little before the first `piece` on, for evidence; '' when it is absent. */
  around(piece: string): string {
    const scanned = this.response.scanned;
    if (scanned?.has(piece)) return scanned.get(piece) ?? '';
    const at = this.text.indexOf(piece);
    return at < 0 ? '' : this.text.slice(Math.max(0, at - CONTEXT_BEFORE));
  }

  /** The JSON value, or why the body is not JSON (with a short excerpt). */
  json(): { value: unknown } | { error: string } {
    if (!this.parsed) {
      const text = this.text;
      if (!/\S/.test(text)) {
        this.parsed = {
          error: `body is empty${this.response.status === 204 ? ' (204 No Content)' : ''}, expected JSON`,
        };
      } else {
        try {
          this.parsed = { value: JSON.parse(text) };
        } catch (err) {
          const truncated = this.response.truncated
            ? ` (body truncated at ${this.response.body.length} bytes)`
            : '';
          this.parsed = {
            error: `body is not JSON: ${(err as Error).message}${truncated}; body starts ${excerpt(text)}`,
          };
        }
      }
    }
    return this.parsed;
  }
}

/**
 * Shortens a text for evidence. Secrets, known values and the values of secret-looking JSON
 * keys, are redacted before cutting: a cut through a secret would leave a prefix that no longer
 * matches it.
 */
export function clip(text: string, max = EXCERPT_CHARS): string {
  const safe = redactBodyText(text);
  return safe.length > max ? `${safe.slice(0, max)}…` : safe;
}

/** A short, quoted, one-line excerpt of a text. */
export function excerpt(text: string, max = EXCERPT_CHARS): string {
  return JSON.stringify(clip(text.replace(/\s+/g, ' '), max));
}

/** A value for an assertion: small values as they are, big ones as a JSON excerpt. */
export function evidence(value: unknown, max = EXCERPT_CHARS): unknown {
  if (value === undefined) return null;
  if (typeof value === 'string') return clip(value, max);
  if (value === null || typeof value !== 'object') return value;
  const text = JSON.stringify(value);
  return text.length > max ? clip(text, max) : redact(value);
}
