import { opaqueFormat } from './opaque';

/** Spring Session's metadata fields in a session hash (`RedisIndexedSessionRepository`). */
const METADATA = ['creationTime', 'lastAccessedTime', 'maxInactiveInterval'] as const;
const ATTRIBUTE = 'sessionAttr:';

export type SpringDecoded =
  | { ok: true; value: Record<string, unknown> }
  | { ok: true; opaque: string }
  | { ok: true; notSession: string }
  | { ok: false; reason: string };

/** One hash field: JSON (Jackson serializers) decoded; a JDK stream identified, never deserialized. */
function field(bytes: Buffer): { ok: true; value: unknown } | { ok: true; opaque: string } | { ok: false } {
  const opaque = opaqueFormat(bytes);
  if (opaque) return { ok: true, opaque };
  try {
    return { ok: true, value: JSON.parse(bytes.toString('utf8')) };
  } catch {
    return { ok: false };
  }
}

/**
 * A Spring Session Redis session: the hash `spring:session:sessions:<id>` with `creationTime`,
 * `lastAccessedTime`, `maxInactiveInterval` and one `sessionAttr:<name>` per attribute. With
 * `JdkSerializationRedisSerializer` (Spring's default) the values are Java serialization streams
 * and the session is opaque; with a Jackson serializer they are JSON and decoded. The empty
 * string `spring:session:sessions:expires:<id>` beside each session is not a session.
 */
export function decodeSpringSession(
  stored: { kind: 'bytes'; bytes: Buffer } | { kind: 'hash'; fields: ReadonlyMap<string, Buffer> },
  key: string,
): SpringDecoded {
  if (stored.kind === 'bytes') {
    if (stored.bytes.length === 0 || key.includes(':expires:'))
      return { ok: true, notSession: 'Spring Session expiry marker' };
    return { ok: false, reason: 'a string, not a Spring Session hash' };
  }
  const missing = METADATA.filter((name) => !stored.fields.has(name));
  if (missing.length) return { ok: false, reason: `not a Spring Session hash (no ${missing.join(', ')})` };
  const value: Record<string, unknown> = {};
  const attributes: Record<string, unknown> = {};
  let opaque: string | undefined;
  for (const [name, bytes] of stored.fields) {
    const isAttribute = name.startsWith(ATTRIBUTE);
    if (!isAttribute && !(METADATA as readonly string[]).includes(name)) continue;
    const decoded = field(bytes);
    if (!decoded.ok)
      return { ok: false, reason: `field ${name} is neither JSON nor a Java serialization stream` };
    if ('opaque' in decoded) {
      opaque ??= decoded.opaque;
      continue;
    }
    if (isAttribute) attributes[name.slice(ATTRIBUTE.length)] = decoded.value;
    else value[name] = decoded.value;
  }
  if (opaque) return { ok: true, opaque: `${opaque} (JdkSerializationRedisSerializer)` };
  return { ok: true, value: { ...value, attributes } };
}
