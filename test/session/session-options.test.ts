import { buildSessionCheck } from './support/run-check';

const redis = { engine: 'redis', host: '127.0.0.1' };

describe('session options are checked when the config loads', () => {
  it.each<[string, Record<string, unknown>, RegExp]>([
    ['an unknown store key', { store: { ...redis, passwrd: 'x' } }, /checks\.sessions\.store.*passwrd/],
    ['an unknown engine', { store: { engine: 'mongo', host: 'h' } }, /checks\.sessions\.store\.engine/],
    [
      'a port out of range',
      { store: { ...redis, port: 70000 } },
      /checks\.sessions\.store\.port: expected a number ≤ 65535/,
    ],
    [
      'a live sample on memcached',
      { store: { engine: 'memcached', host: 'h' }, sample: {} },
      /checks\.sessions\.sample: memcached cannot list its keys/,
    ],
    [
      'a sample with neither contracts nor prefix and codec',
      { store: redis, sample: { keyPrefix: 'sess:' } },
      /checks\.sessions\.sample: without contracts the sample needs both keyPrefix and codec/,
    ],
    [
      'an unknown sample codec',
      { store: redis, sample: { keyPrefix: 'sess:', codec: 'msgpack' } },
      /checks\.sessions\.sample\.codec: unknown codec "msgpack"; known: json, express-session/,
    ],
    [
      'a failure rate above 1',
      { store: redis, sample: { keyPrefix: 's:', codec: 'json', maxFailureRate: 5 } },
      /sample.*maxFailureRate: expected a number ≤ 1/,
    ],
    [
      'a contract without a cookie name',
      {
        store: redis,
        contracts: { blue: { inline: { keyPrefix: 's:', codec: 'json' } }, green: { file: 'g.json' } },
      },
      /checks\.sessions\.contracts\.blue\.inline\.cookieName: required, expected a string/,
    ],
    [
      'a contract source with two origins',
      { store: redis, contracts: { blue: { file: 'b.json', target: 'prod' }, green: { target: 'test' } } },
      /checks\.sessions\.contracts\.blue: expected exactly one of inline, file, target, got file and target/,
    ],
    [
      'a contract served by an unknown target',
      { store: redis, contracts: { blue: { target: 'blue' }, green: { target: 'test' } } },
      /checks\.sessions\.contracts\.blue\.target: unknown target "blue"; defined targets: test, prod/,
    ],
    [
      'end to end without a cookie name or contracts',
      { store: redis, endToEnd: { login: [{ path: '/login' }], authenticated: [{ path: '/me' }] } },
      /checks\.sessions\.endToEnd\.cookieName: expected a cookie name/,
    ],
  ])('rejects %s, naming the field', (_name, options, message) => {
    expect(() => buildSessionCheck(options)).toThrow(message);
  });

  it('accepts a minimal Redis store and turns the live sample on when contracts are given', () => {
    expect(() => buildSessionCheck({ store: redis })).not.toThrow();
    const inline = { inline: { keyPrefix: 'sess:', cookieName: 'sid', codec: 'json' } };
    expect(() =>
      buildSessionCheck({ store: redis, contracts: { blue: inline, green: inline } }),
    ).not.toThrow();
  });
});
