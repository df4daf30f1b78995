import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pendingMigrations, splitScript } from '../../checks/schema/migration-files';
import type { MigrationHistory } from '../../checks/schema/migrations';

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'migration-files-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('splitScript', () => {
  it('splits at top-level semicolons only, keeping quoted text, function bodies and lines', () => {
    const script = [
      '-- header; not a statement',
      "INSERT INTO notes (body) VALUES ('a; b');",
      '',
      'CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$;',
      '/* block; comment */ ALTER TABLE "odd;name" ADD COLUMN x int',
    ].join('\n');

    expect(splitScript(script)).toEqual([
      { sql: "INSERT INTO notes (body) VALUES ('a; b')", line: 2 },
      { sql: 'CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$', line: 4 },
      { sql: 'ALTER TABLE "odd;name" ADD COLUMN x int', line: 5 },
    ]);
  });
});

describe('pendingMigrations', () => {
  const history = (
    tool: MigrationHistory['tool'],
    rows: Array<[string, boolean]>,
    upTo?: bigint,
  ): MigrationHistory => ({
    tool,
    table: 'h',
    found: true,
    applied: rows.map(([id, failed]) => ({ id, failed, dirty: false })),
    ...(upTo === undefined ? {} : { upTo }),
  });

  it('flyway: versions in numeric order, applied ones left out, a failed one pending, repeatables last', async () => {
    const dir = dirWith({
      'V1__a.sql': 'SELECT 1;',
      'V1_1__b.sql': 'SELECT 2;',
      'V2__c.sql': 'SELECT 3;',
      'V10__d.sql': 'SELECT 4;',
      'R__views.sql': 'SELECT 5;',
      'README.md': 'not a migration',
    });
    const result = await pendingMigrations(
      dir,
      'flyway',
      history('flyway', [
        ['1', false],
        ['1.1', false],
        ['2', true],
      ]),
    );
    expect(result.pending.map((m) => m.file)).toEqual(['V2__c.sql', 'V10__d.sql', 'R__views.sql']);
    expect(result.applied).toBe(2);
  });

  it('golang-migrate: up files above the current version', async () => {
    const dir = dirWith({
      '0001_init.up.sql': 'SELECT 1;',
      '0001_init.down.sql': 'SELECT 0;',
      '0002_more.up.sql': 'SELECT 2;',
      '0010_last.up.sql': 'SELECT 3;',
    });
    const result = await pendingMigrations(
      dir,
      'golang-migrate',
      history('golang-migrate', [['2', false]], 2n),
    );
    expect(result.pending.map((m) => m.file)).toEqual(['0010_last.up.sql']);
  });

  it('plain: every .sql file in natural name order', async () => {
    const dir = dirWith({ '10_c.sql': 'SELECT 3;', '2_b.sql': 'SELECT 2;', '1_a.sql': 'SELECT 1;' });
    const result = await pendingMigrations(dir, 'plain', undefined);
    expect(result.pending.map((m) => m.file)).toEqual(['1_a.sql', '2_b.sql', '10_c.sql']);
  });

  it('says which names it expected when the directory holds none', async () => {
    await expect(pendingMigrations(dirWith({ 'x.txt': '' }), 'flyway', undefined)).rejects.toThrow(
      /no flyway migrations in .*: expected files named V<version>__<description>\.sql/,
    );
  });
});
