import {
  insertTarget,
  readOnlyForm,
  safeStatement,
  statementTables,
  updateTarget,
} from '../../checks/schema/statement-text';

describe('statement text from the statistics, made safe to show and prepare', () => {
  it.each([
    [
      'a literal the normaliser left (an entry stored verbatim) becomes the next placeholder',
      "SELECT id FROM users WHERE email = $1 AND api_token = 'sk_live_abc''def'",
      'SELECT id FROM users WHERE email = $1 AND api_token = $2',
    ],
    [
      'escape, dollar-quoted and numeric literals are replaced; ORDER BY / GROUP BY positions stay',
      "SELECT status, count(*) FROM users WHERE note = E'x\\'y' OR note = $tag$s3cr3t$tag$ OR pin = 123456 GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10",
      'SELECT status, count(*) FROM users WHERE note = $1 OR note = $2 OR pin = $3 GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT $4',
    ],
    [
      'comments, which may carry values (sqlcommenter tags), are dropped',
      "SELECT id FROM users /*traceparent='00-abc',user='ann@example.com'*/",
      'SELECT id FROM users',
    ],
  ])('PostgreSQL: %s', (_why, raw, text) => {
    expect(safeStatement(raw, 'postgres')).toEqual({ text, kind: 'select' });
  });

  it('MySQL digests: IN (...) takes one placeholder, VALUES (...) one per listed column, extra rows go', () => {
    expect(safeStatement('SELECT `id` FROM `t` WHERE `id` IN (...) ', 'mysql')).toEqual({
      text: 'SELECT `id` FROM `t` WHERE `id` IN (?)',
      kind: 'select',
    });
    expect(safeStatement('INSERT INTO `t` ( `a` , `b` ) VALUES (...) /* , ... */ ', 'mysql')).toEqual({
      text: 'INSERT INTO `t` ( `a` , `b` ) VALUES (?, ?)',
      kind: 'insert',
    });
  });

  it('MySQL: a double-quoted string is a literal, not a name, and is replaced', () => {
    expect(safeStatement('SELECT a FROM t WHERE b = "s3cr3t"', 'mysql')).toEqual({
      text: 'SELECT a FROM t WHERE b = ?',
      kind: 'select',
    });
  });

  it.each([
    ['SELECT 1; DELETE FROM users', 'more than one statement'],
    ['ALTER ROLE app PASSWORD $1', 'not a query or DML statement'],
    ['SET search_path = app', 'not a query or DML statement'],
  ])('refuses %j (%s)', (raw, skip) => {
    expect(safeStatement(raw, 'postgres')).toEqual({ skip });
  });

  it('refuses a MySQL digest the server truncated', () => {
    expect(safeStatement('SELECT `a` , `b` , `c` FROM `t` WHERE `a` = ? AND `b` ...', 'mysql')).toEqual({
      skip: 'truncated by the server (max_digest_length)',
    });
  });
});

describe('what a statement names', () => {
  it('finds tables and aliases after FROM, JOIN, UPDATE and INTO, quoted or qualified', () => {
    expect(
      statementTables(
        'SELECT o.id FROM "app"."orders" AS o, items JOIN users u ON u.id = o.user_id WHERE 1 = $1',
        'postgres',
      ),
    ).toEqual([{ table: 'app.orders', alias: 'o' }, { table: 'items' }, { table: 'users', alias: 'u' }]);
  });

  it('reads the target and columns of an INSERT, and the SET columns of an UPDATE', () => {
    expect(
      insertTarget('INSERT INTO "users" ("email", name) VALUES ($1, $2) RETURNING id', 'postgres'),
    ).toEqual({
      table: 'users',
      columns: ['email', 'name'],
    });
    expect(insertTarget('INSERT INTO users VALUES ($1, $2)', 'postgres')).toEqual({ table: 'users' });
    expect(updateTarget('UPDATE `users` SET `a` = ? , b = COALESCE(b, ?) WHERE id = ?', 'mysql')).toEqual({
      table: 'users',
      columns: ['a', 'b'],
    });
  });

  it.each([
    [
      'UPDATE `users` SET `a` = ? , `b` = ? WHERE `id` = ? LIMIT ?',
      'SELECT 1 FROM `users` WHERE `id` = ? LIMIT ?',
    ],
    [
      'UPDATE LOW_PRIORITY users u JOIN orders o ON o.user_id = u.id SET u.a = (SELECT 1) WHERE o.x = ?',
      'SELECT 1 FROM users u JOIN orders o ON o.user_id = u.id WHERE o.x = ?',
    ],
    ['UPDATE users SET a = ?', 'SELECT 1 FROM users'],
    ['DELETE FROM `orders` WHERE `total` < ?', 'SELECT 1 FROM `orders` WHERE `total` < ?'],
  ])('reads %j as %j where writes cannot be prepared', (write, select) => {
    expect(readOnlyForm(write, 'mysql')).toBe(select);
  });

  it('has no read-only form for an INSERT or a multi-table DELETE', () => {
    expect(readOnlyForm('INSERT INTO t (a) VALUES (?)', 'mysql')).toBeUndefined();
    expect(readOnlyForm('DELETE t FROM t JOIN u ON u.id = t.id', 'mysql')).toBeUndefined();
  });
});
