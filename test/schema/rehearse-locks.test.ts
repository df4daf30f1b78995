import {
  APP_SCHEMA,
  bundleCli,
  createLiveDatabase,
  migrationsDir,
  type BundledCli,
  type LiveDatabase,
} from './rehearsal-kit';

jest.setTimeout(180_000);

interface Report {
  findings: Array<{ kind: string; rule: string; subject: string; message: string; fix?: string }>;
}

let live: LiveDatabase;
let cli: BundledCli;
beforeAll(async () => {
  cli = await bundleCli();
  live = await createLiveDatabase('locks');
  await live.exec(APP_SCHEMA);
  // users is large (5,000 rows, analyzed, so pg_class.reltuples knows); orders holds 3 rows.
  await live.exec(
    `INSERT INTO users (firstname, email) SELECT 'u' || g, 'u' || g || '@example.com' FROM generate_series(1, 5000) g;
     INSERT INTO orders (user_id, total) SELECT id, 10 FROM users ORDER BY id LIMIT 3;
     ANALYZE users; ANALYZE orders;`,
  );
});
afterAll(async () => {
  cli?.remove();
  await live?.drop();
});

describe('lock rules on tables that are large on the live server', () => {
  it('names each lock-heavy statement, its table size and the fix; leaves the safe ones and small tables alone', async () => {
    const dir = migrationsDir({
      'V3__lookups.sql': [
        'CREATE INDEX users_email_lower_idx ON users (lower(email));',
        'CREATE INDEX CONCURRENTLY users_created_idx ON users (created_at);',
        'ALTER TABLE users ADD COLUMN active boolean NOT NULL DEFAULT true;',
        'ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();',
        'ALTER TABLE users ALTER COLUMN mood TYPE text;',
        'ALTER TABLE users ALTER COLUMN firstname TYPE varchar(200);',
        'CREATE INDEX orders_total_idx ON orders (total);',
        'ALTER TABLE orders ALTER COLUMN total TYPE float8;',
        'ALTER TABLE users ADD CONSTRAINT users_email_lower CHECK (email = lower(email));',
        'ALTER TABLE users ADD CONSTRAINT users_named CHECK (firstname IS NOT NULL) NOT VALID;',
        'ALTER TABLE users ALTER COLUMN email SET NOT NULL;',
      ].join('\n'),
    });

    const result = await cli.run([
      'schema',
      'rehearse',
      '--db',
      live.url,
      '--migrations',
      dir,
      '--large-rows',
      '1000',
      '--json',
    ]);

    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as Report;
    expect(report.findings.map((f) => [f.rule, f.subject])).toEqual([
      ['require-concurrent-index-creation', 'V3__lookups.sql:1'],
      ['adding-field-with-default', 'V3__lookups.sql:4'],
      ['changing-column-type', 'V3__lookups.sql:5'],
      // text to varchar(n) checks every value's length by rewriting the table
      ['changing-column-type', 'V3__lookups.sql:6'],
      ['constraint-missing-not-valid', 'V3__lookups.sql:9'],
      ['setting-not-nullable-field', 'V3__lookups.sql:11'],
    ]);
    for (const f of report.findings) {
      expect(f.kind).toBe('lock');
      expect(f.message).toMatch(/on public\.users \(~5,000 rows, \d+(\.\d)? (KiB|MiB) live\)/);
      expect(f.fix).toBeTruthy();
    }
    expect(report.findings[0]!.fix).toContain('CREATE INDEX CONCURRENTLY');
    expect(report.findings[2]!.message).toContain('rewrites the table');
  });

  it('prints each finding with its fix in the text report', async () => {
    const dir = migrationsDir({
      'V3__idx.sql': 'CREATE UNIQUE INDEX users_token_idx ON public.users (api_token);\n',
    });

    const result = await cli.run([
      'schema',
      'rehearse',
      '--db',
      live.url,
      '--migrations',
      dir,
      '--large-rows',
      '1000',
    ]);

    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /✗ require-concurrent-index-creation: migration V3__idx\.sql:1 `CREATE UNIQUE INDEX users_token_idx ON public\.users \(api_token\)` on public\.users/,
    );
    expect(result.stdout).toMatch(/\n {4}fix: CREATE INDEX CONCURRENTLY/);
  });

  it('lets the same statements through when the table is under the threshold', async () => {
    const dir = migrationsDir({ 'V3__idx.sql': 'CREATE INDEX users_token_idx ON users (api_token);\n' });

    const result = await cli.run([
      'schema',
      'rehearse',
      '--db',
      live.url,
      '--migrations',
      dir,
      '--large-rows',
      '100000',
    ]);

    expect(result.stdout).toMatch(/^Passed in \d+ ms$/m);
    expect(result.code).toBe(0);
  });
});
