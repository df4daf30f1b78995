import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import Ajv2020 from 'ajv/dist/2020';
import { main } from '../../bin/cli';
import { contractJsonSchema } from '../../checks/schema/contract';
import { MYSQL_URL, PG_URL, runSchemaCheck, scratchMysql, scratchPg } from './support';

function io(env: NodeJS.ProcessEnv = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  return { io: { stdout, stderr, env, cwd: process.cwd() }, out: () => out, err: () => err };
}

/** Compares with a reviewed file; `UPDATE_GOLDEN=1` rewrites it. */
function expectGolden(name: string, text: string): void {
  const file = join(__dirname, 'golden', name);
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) writeFileSync(file, text);
  expect(text).toBe(readFileSync(file, 'utf8'));
}

const PG_DDL = `
  CREATE TYPE mood AS ENUM ('happy', 'sad');
  CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL UNIQUE, mood mood,
                      tags text[], email_lower text GENERATED ALWAYS AS (lower(email)) STORED);
  CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version varchar(50), script varchar(1000) NOT NULL, success boolean NOT NULL);
  INSERT INTO flyway_schema_history VALUES (1, '1', 'V1__init.sql', true), (2, '2', 'V2__mood.sql', true);
  CREATE VIEW user_emails AS SELECT id, email FROM users;`;

describe('greenlight schema snapshot', () => {
  it('writes a contract from a live PostgreSQL schema that the check then passes', async () => {
    const db = await scratchPg();
    try {
      await db.exec(PG_DDL);
      const dir = mkdtempSync(join(tmpdir(), 'schema-snapshot-'));
      const out = join(dir, 'contract.json');
      const cli = io();
      const code = await main(
        ['schema', 'snapshot', '--db', PG_URL, '--schema', db.schema, '--out', out],
        cli.io,
      );
      expect(cli.err()).toBe(`wrote ${out}: 2 tables from PostgreSQL postgres@127.0.0.1:5432/test\n`);
      expect(code).toBe(0);
      const text = readFileSync(out, 'utf8');
      expectGolden('snapshot-postgres.json', text.split(db.schema).join('SCHEMA'));

      const report = await runSchemaCheck({
        url: PG_URL,
        contracts: { green: { file: out }, blue: { file: out } },
      });
      expect(report.details?.findings).toEqual([]);
      expect(report.outcome).toBe('passed');
    } finally {
      await db.drop();
    }
  });

  it('writes a contract from a live MariaDB database to stdout', async () => {
    const db = await scratchMysql();
    try {
      await db.exec(
        "CREATE TABLE orders (id int AUTO_INCREMENT PRIMARY KEY, state enum('new','paid') NOT NULL, total decimal(10,2) NOT NULL)",
      );
      const cli = io();
      expect(await main(['schema', 'snapshot', '--db', MYSQL_URL(db.database)], cli.io)).toBe(0);
      expect(JSON.parse(cli.out())).toEqual({
        engine: 'mysql',
        reads: { orders: ['id', 'state', 'total'] },
        writes: { orders: ['id', 'state', 'total'] },
        types: { 'orders.id': ['integer'], 'orders.state': ['enum'], 'orders.total': ['decimal'] },
        enums: { 'orders.state': ['new', 'paid'] },
        constraints: { orders: ['PRIMARY'] },
      });
    } finally {
      await db.drop();
    }
  });

  it.each([
    { args: ['schema', 'snapshot'], code: 2, err: /--db URL is required/ },
    {
      args: ['schema', 'snapshot', '--db', 'postgres://u@h/db?sslmode=prefer'],
      code: 2,
      err: /--db: sslmode=prefer does not verify the server/,
    },
    {
      args: ['schema', 'snapshot', '--db', PG_URL, '--tool', 'rake'],
      code: 2,
      err: /--tool: expected one of flyway, .*, got "rake"/,
    },
    { args: ['schema', 'snapshot', '--db', PG_URL, '--bogus'], code: 2, err: /Unknown option '--bogus'/ },
    {
      args: ['schema', 'frobnicate'],
      code: 2,
      err: /expected "snapshot", "record", "rehearse" or "contract-schema", got "frobnicate"/,
    },
    {
      args: ['schema', 'snapshot', '--db', 'postgres://u:pw-0123456789@127.0.0.1:1/db?sslmode=disable'],
      code: 1,
      err: /^greenlight schema snapshot: cannot connect to PostgreSQL at 127\.0\.0\.1:1 as u: .*ECONNREFUSED/,
    },
  ])('exits $code with a clear message for $args', async ({ args, code, err }) => {
    const cli = io();
    expect(await main(args, cli.io)).toBe(code);
    expect(cli.err()).toMatch(err);
    expect(cli.err()).not.toContain('pw-0123456789');
  });
});

describe('the contract JSON Schema', () => {
  it('is the committed checks/schema/contract.schema.json, generated from the zod schema', async () => {
    const cli = io();
    expect(await main(['schema', 'contract-schema'], cli.io)).toBe(0);
    expect(JSON.parse(cli.out())).toEqual(contractJsonSchema());
    expect(
      readFileSync(join(__dirname, '..', '..', 'checks', 'schema', 'contract.schema.json'), 'utf8'),
    ).toBe(cli.out());
  });

  it('accepts the snapshot golden file and rejects what the check rejects', () => {
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    const validate = ajv.compile(contractJsonSchema());
    const golden = JSON.parse(readFileSync(join(__dirname, 'golden', 'snapshot-postgres.json'), 'utf8'));
    expect(validate(golden)).toBe(true);
    expect(validate({ reads: { users: 'id' } })).toBe(false);
    expect(validate({ reads: { users: ['id'] }, writes: {}, extra: 1 })).toBe(false);
    expect(validate({ migrations: { tool: 'flyway', known: { V1: 'shrink' } } })).toBe(false);
  });
});
