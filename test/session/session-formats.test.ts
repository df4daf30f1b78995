import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { decodePhpHandler } from '../../checks/session/formats/php';
import { runFramework } from './support/frameworks';
import { runSessionCheck, uniquePrefix } from './support/run-check';

const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
const STORE = { engine: 'redis', host: '127.0.0.1', port: 6379 };
const PAYLOAD = { user: { id: 42, name: 'Ada' }, visits: 3 };
const FIXTURES = join(__dirname, '..', 'fixtures', 'spring-session');
let base: string;

beforeAll(() => redis.connect());
beforeEach(() => {
  base = uniquePrefix('session-formats');
});
afterEach(async () => {
  const keys = await redis.keys(`${base}*`);
  if (keys.length) await redis.unlink(...keys);
});
afterAll(() => redis.quit());

/** A session check sampling `prefix` with `codec`, green's reader schema given through contracts. */
function sampleWith(codec: string, readerSchema?: Record<string, unknown>) {
  const contract = { keyPrefix: base, cookieName: 'sid', codec, ...(readerSchema ? { readerSchema } : {}) };
  return runSessionCheck({
    store: STORE,
    canary: false,
    eviction: false,
    contracts: { blue: { inline: contract }, green: { inline: contract } },
    sample: { maxFailureRate: 0 },
  });
}

const USER_ID_NUMBER = {
  type: 'object',
  required: ['user'],
  properties: { user: { type: 'object', required: ['id'], properties: { id: { type: 'integer' } } } },
};
const USER_ID_STRING = {
  type: 'object',
  required: ['user'],
  properties: { user: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } } },
};

describe('PHP sessions written by php-cli through a Redis save handler', () => {
  it.each(['php', 'php_serialize', 'php_binary'])(
    'decodes the %s serialize_handler and checks it against the reader schema',
    async (handler) => {
      for (let i = 0; i < 3; i++)
        await runFramework('php', { handler, prefix: base, redisPort: 6379, payload: PAYLOAD });
      const good = await sampleWith(handler, USER_ID_NUMBER);
      expect(good.outcome).toBe('passed');
      expect(good.message).toMatch(/sampled 3 sessions .*: 0 \(0%\) not readable by green/);
      const bad = await sampleWith(handler, USER_ID_STRING);
      expect(bad.outcome).toBe('failed');
      expect(bad.message).toMatch(/3 rejected by green's reader schema: \/user\/id must be string/);
    },
  );

  it('reads an object in a PHP session as data with its class name, instantiating nothing', async () => {
    await runFramework('php', {
      handler: 'php',
      prefix: base,
      redisPort: 6379,
      payload: PAYLOAD,
      withObject: true,
    });
    const report = await sampleWith('php', {
      type: 'object',
      required: ['profile'],
      properties: {
        profile: {
          type: 'object',
          required: ['__class', 'theme'],
          properties: { __class: { const: 'stdClass' }, since: { type: 'integer' } },
        },
      },
    });
    expect(report.outcome).toBe('passed');
    expect(report.message).toMatch(/sampled 1 sessions .*: 0 \(0%\) not readable by green/);
  });

  it.each([
    ['a string longer than the data', 'user|s:999:"Ada";'],
    ['nesting deeper than 64', `x|${'a:1:{i:0;'.repeat(200)}N;${'}'.repeat(200)}`],
    ['an unknown type', 'user|Z:1;'],
    ['a missing terminator', 'user|i:42'],
  ])('rejects hostile PHP session data (%s) with a reason, never a crash', (_what, data) => {
    const decoded = decodePhpHandler(Buffer.from(data));
    expect(decoded.ok).toBe(false);
    expect(decoded.ok ? '' : decoded.reason).toMatch(/^not PHP session data: .* at byte \d+$/);
  });

  it('fails sessions written with another serialize_handler than green reads', async () => {
    await runFramework('php', { handler: 'php_binary', prefix: base, redisPort: 6379, payload: PAYLOAD });
    const report = await sampleWith('php');
    expect(report.outcome).toBe('failed');
    expect(report.message).toMatch(/1 not PHP session data/);
  });
});

describe('Django and Rails cache-store sessions written by the real frameworks', () => {
  it('reports pickled Django cache sessions as opaque, and decodes JSON-serialized ones', async () => {
    const out = await runFramework<{ cacheKey: string; cachePickle: string; cacheJson: string }>('django', {
      secretKey: 'django-secret-for-tests',
      payload: PAYLOAD,
    });
    await redis.set(`${base}:1:${out.cacheKey}`, Buffer.from(out.cachePickle, 'base64'));
    const pickled = await sampleWith('django', USER_ID_STRING);
    expect(pickled.outcome).toBe('passed');
    expect(pickled.message).toMatch(
      /1 opaque, not decoded or checked against a reader schema: Python pickle \(protocol \d\), never unpickled \(Django's cache serializer\)/,
    );

    await redis.set(`${base}:1:json`, Buffer.from(out.cacheJson, 'base64'));
    const mixed = await sampleWith('django', USER_ID_STRING);
    expect(mixed.outcome).toBe('failed');
    expect(mixed.message).toMatch(
      /sampled 2 sessions .*: 1 \(50%\) not readable by green \(1 rejected by green's reader schema: \/user\/id must be string\)/,
    );
  });

  it('reports Rails cache entries (Marshal) as opaque, and decodes JSON ones', async () => {
    const out = await runFramework<{ cacheMarshal: string; cacheJson: string }>('rails', {
      secretKeyBase: 'rails-secret-for-tests',
      payload: PAYLOAD,
    });
    await redis.set(`${base}marshal`, Buffer.from(out.cacheMarshal, 'base64'));
    await redis.set(`${base}json`, Buffer.from(out.cacheJson, 'base64'));
    const report = await sampleWith('rails', USER_ID_NUMBER);
    expect(report.outcome).toBe('passed');
    expect(report.message).toMatch(/sampled 2 sessions/);
    expect(report.message).toMatch(/1 opaque, .*Ruby Marshal 4.8, never loaded \(Rails' cache entry\)/);
  });
});

describe('Spring Session hashes (fixtures of Spring Session 3.2)', () => {
  async function writeHash(file: string, id: string, decode: (v: string) => Buffer) {
    const fields = JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as Record<string, string>;
    const key = `${base}${id}`;
    for (const [name, value] of Object.entries(fields)) await redis.hset(key, name, decode(value));
    // RedisIndexedSessionRepository's expiry marker beside each session: not a session.
    await redis.set(`${base}expires:${id}`, '');
  }

  it('reads hashes with HGETALL: JDK-serialized values opaque, Jackson JSON decoded and checked', async () => {
    await writeHash('jdk-session.json', 'a1b2c3d4-0000-4000-8000-000000000001', (v) =>
      Buffer.from(v, 'base64'),
    );
    await writeHash('jackson-session.json', 'a1b2c3d4-0000-4000-8000-000000000002', (v) => Buffer.from(v));
    const schema = {
      type: 'object',
      required: ['creationTime', 'attributes'],
      properties: { attributes: { type: 'object', required: ['user'] } },
    };
    const report = await sampleWith('spring-session', schema);
    expect(report.outcome).toBe('passed');
    expect(report.message).toMatch(/sampled 2 sessions .*: 0 \(0%\) not readable by green/);
    expect(report.message).toMatch(
      /1 opaque, .*Java serialization stream, never deserialized \(JdkSerializationRedisSerializer\)/,
    );
    expect((report.details as { sample: { notSessions: number } }).sample.notSessions).toBe(2);

    const strict = await sampleWith('spring-session', {
      type: 'object',
      properties: { attributes: { type: 'object', required: ['cart'] } },
    });
    expect(strict.outcome).toBe('failed');
    expect(strict.message).toMatch(
      /rejected by green's reader schema: \/attributes must have required property 'cart'/,
    );
  });

  it('fails a hash that is not a Spring Session', async () => {
    await redis.hset(`${base}other`, 'email', 'someone@example.com');
    const report = await sampleWith('spring-session');
    expect(report.outcome).toBe('failed');
    expect(report.message).toMatch(
      /not a Spring Session hash \(no creationTime, lastAccessedTime, maxInactiveInterval\)/,
    );
    expect(JSON.stringify(report)).not.toContain('example.com');
  });
});

describe('pickle and Marshal are never deserialized', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'greenlight-hostile-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A pickle whose REDUCE opens (creates) `file` when unpickled. */
  function hostilePickle(file: string): Buffer {
    const code = `import pickle, sys\nclass P:\n    def __reduce__(self):\n        return (open, (${JSON.stringify(file)}, "w"))\nsys.stdout.buffer.write(pickle.dumps({"user": P()}, protocol=4))`;
    return execFileSync('/usr/bin/python3', ['-c', code]);
  }

  /** A Marshal dump of an object whose class creates `file` in marshal_load. */
  function hostileMarshal(file: string, load = false): Buffer {
    const code = `class Hostile; def marshal_dump; [1]; end; def marshal_load(_); File.write(${JSON.stringify(file)}, "ran"); end; end\n${load ? 'Marshal.load($stdin.read)' : '$stdout.write(Marshal.dump({"user" => Hostile.new}))'}`;
    return execFileSync('ruby', ['-e', code], load ? { input: hostileMarshal(file) } : {});
  }

  it('the payloads are live: Python and Ruby loading them create the file', () => {
    const pickled = join(dir, 'unpickled');
    execFileSync('/usr/bin/python3', ['-c', 'import pickle, sys; pickle.loads(sys.stdin.buffer.read())'], {
      input: hostilePickle(pickled),
    });
    expect(existsSync(pickled)).toBe(true);
    const marshalled = join(dir, 'marshal-loaded');
    hostileMarshal(marshalled, true);
    expect(existsSync(marshalled)).toBe(true);
  });

  it('sampling them reports opaque sessions and creates nothing', async () => {
    const pickled = join(dir, 'unpickled');
    const marshalled = join(dir, 'marshal-loaded');
    await redis.set(`${base}pickle`, hostilePickle(pickled));
    await redis.set(`${base}marshal`, hostileMarshal(marshalled));
    for (const codec of ['django', 'rails']) {
      const report = await sampleWith(codec);
      expect(report.message).toMatch(/opaque/);
    }
    expect(existsSync(pickled)).toBe(false);
    expect(existsSync(marshalled)).toBe(false);
  });
});
