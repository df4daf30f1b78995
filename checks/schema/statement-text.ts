import type { Engine } from './model';

/**
 * Statement text as the statistics keep it, made safe to show and to prepare: literals that the
 * server's normaliser left in place become placeholders, MySQL digest shorthand (`(...)`,
 * `/* , ... *\/`) becomes placeholders, and only a single DML statement is accepted.
 */

export type TokenKind = 'word' | 'quoted' | 'string' | 'number' | 'param' | 'punct' | 'comment' | 'space';

export interface Token {
  kind: TokenKind;
  text: string;
}

const DML = new Set(['select', 'insert', 'update', 'delete', 'with', 'values', 'table', 'merge', 'replace']);

/** Splits SQL into tokens, enough to find literals, identifiers and statement boundaries. */
export function tokenize(sql: string, engine: Engine): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const push = (kind: TokenKind, end: number) => {
    tokens.push({ kind, text: sql.slice(i, end) });
    i = end;
  };
  const closeQuote = (from: number, quote: string, backslash: boolean): number => {
    let j = from;
    while (j < sql.length) {
      const ch = sql[j]!;
      if (backslash && ch === '\\') j += 2;
      else if (ch === quote && sql[j + 1] === quote) j += 2;
      else if (ch === quote) return j + 1;
      else j++;
    }
    return sql.length;
  };
  while (i < sql.length) {
    const ch = sql[i]!;
    const rest = sql.slice(i);
    if (/\s/.test(ch)) {
      push('space', i + /^\s+/.exec(rest)![0].length);
    } else if (rest.startsWith('--') || (engine === 'mysql' && ch === '#')) {
      const nl = sql.indexOf('\n', i);
      push('comment', nl === -1 ? sql.length : nl);
    } else if (rest.startsWith('/*')) {
      const end = sql.indexOf('*/', i + 2);
      push('comment', end === -1 ? sql.length : end + 2);
    } else if (/^[eEbBxXnN]'/.test(rest)) {
      push('string', closeQuote(i + 2, "'", engine === 'mysql' || /^[eE]/.test(ch)));
    } else if (ch === "'") {
      push('string', closeQuote(i + 1, "'", engine === 'mysql'));
    } else if (ch === '"' && engine === 'mysql') {
      push('string', closeQuote(i + 1, '"', true));
    } else if (ch === '"') {
      push('quoted', closeQuote(i + 1, '"', false));
    } else if (ch === '`') {
      push('quoted', closeQuote(i + 1, '`', false));
    } else if (ch === '$' && engine === 'postgres' && /^\$\d+/.test(rest)) {
      push('param', i + /^\$\d+/.exec(rest)![0].length);
    } else if (ch === '$' && engine === 'postgres' && /^\$[A-Za-z_]?[A-Za-z0-9_]*\$/.test(rest)) {
      const tag = /^\$[A-Za-z_]?[A-Za-z0-9_]*\$/.exec(rest)![0];
      const end = sql.indexOf(tag, i + tag.length);
      push('string', end === -1 ? sql.length : end + tag.length);
    } else if (ch === '?' && engine === 'mysql') {
      push('param', i + 1);
    } else if (/[0-9]/.test(ch) || (ch === '.' && /^\.[0-9]/.test(rest))) {
      push('number', i + /^(0x[0-9a-f]+|[0-9]*\.?[0-9]+(e[+-]?[0-9]+)?)/i.exec(rest)![0].length);
    } else if (/[A-Za-z_\u0080-\uffff]/.test(ch)) {
      push('word', i + /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/.exec(rest)![0].length);
    } else if (rest.startsWith('(...)') && engine === 'mysql') {
      push('punct', i + 5);
    } else if (rest.startsWith('::')) {
      push('punct', i + 2);
    } else {
      push('punct', i + 1);
    }
  }
  return tokens;
}

const significant = (t: Token) => t.kind !== 'space' && t.kind !== 'comment';

/** A statement ready to prepare and to show: no literal, no parameter value, one DML statement. */
export interface SafeStatement {
  /** The text to prepare and to show, with placeholders (`$n` or `?`) where values were. */
  text: string;
  /** `select`, `insert`, `update`, `delete`, ... */
  kind: string;
}

/**
 * Rewrites statistics text into a single DML statement with placeholders only, or says why it
 * cannot be checked. String and number literals become placeholders (numbers in ORDER BY /
 * GROUP BY lists, which name output columns, stay); MySQL's `(...)` becomes as many
 * placeholders as the INSERT lists columns (`?` elsewhere).
 */
export function safeStatement(raw: string, engine: Engine): SafeStatement | { skip: string } {
  if (engine === 'mysql' && /\.\.\.\s*$/.test(raw) && !/\(\.\.\.\)\s*(\/\*.*\*\/\s*)?$/.test(raw))
    return { skip: 'truncated by the server (max_digest_length)' };
  const tokens = tokenize(raw.trim(), engine);
  const words = tokens.filter(significant);
  const first = words[0];
  if (!first || first.kind !== 'word' || !DML.has(first.text.toLowerCase()))
    return { skip: 'not a query or DML statement' };
  let params = 0;
  for (const t of tokens)
    if (t.kind === 'param' && engine === 'postgres') params = Math.max(params, Number(t.text.slice(1)));
  const placeholder = () => (engine === 'postgres' ? `$${++params}` : '?');
  const insertColumns = engine === 'mysql' ? insertTarget(raw, engine)?.columns?.length : undefined;

  const out: string[] = [];
  let depth = 0;
  let byDepth: number | undefined; // inside an ORDER BY / GROUP BY list at this depth
  let previous: Token | undefined;
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (t.kind === 'comment') {
      // MySQL's digest marks repeated VALUES rows as a comment; other comments are dropped too,
      // as they may carry values (sqlcommenter tags).
      out.push(' ');
      continue;
    }
    if (t.kind === 'punct' && t.text === ';') {
      const after = tokens.slice(k + 1).filter(significant);
      if (after.length) return { skip: 'more than one statement' };
      break;
    }
    if (t.kind === 'punct' && t.text === '(') depth++;
    if (t.kind === 'punct' && t.text === ')') {
      if (byDepth === depth) byDepth = undefined;
      depth--;
    }
    if (t.kind === 'word') {
      const w = t.text.toLowerCase();
      if (w === 'by' && previous && /^(order|group)$/i.test(previous.text)) byDepth = depth;
      else if (byDepth === depth && !['asc', 'desc', 'nulls', 'first', 'last', 'collate'].includes(w))
        byDepth = undefined;
    }
    if (t.kind === 'string') {
      out.push(placeholder());
    } else if (t.kind === 'number') {
      const positional =
        byDepth === depth && previous && (/^by$/i.test(previous.text) || previous.text === ',');
      out.push(positional ? t.text : placeholder());
    } else if (t.kind === 'punct' && t.text === '(...)') {
      const afterValues = previous && /^(values|row)$/i.test(previous.text);
      out.push(
        `(${Array(afterValues && insertColumns ? insertColumns : 1)
          .fill('?')
          .join(', ')})`,
      );
    } else {
      out.push(t.text);
    }
    if (significant(t)) previous = t;
  }
  const text = out.join('').replace(/\s+/g, ' ').trim();
  return { text, kind: first.text.toLowerCase() };
}

function unquote(text: string): string {
  if (/^".*"$/s.test(text)) return text.slice(1, -1).replace(/""/g, '"');
  if (/^`.*`$/s.test(text)) return text.slice(1, -1).replace(/``/g, '`');
  return text;
}

/** A possibly qualified name starting at `at` among significant tokens: `[schema.]name`, and where it ends. */
function qualifiedName(words: Token[], at: number): { name: string; end: number } | undefined {
  const parts: string[] = [];
  let k = at;
  while (k < words.length) {
    const t = words[k]!;
    if (t.kind !== 'word' && t.kind !== 'quoted') break;
    parts.push(t.kind === 'quoted' ? unquote(t.text) : t.text);
    if (words[k + 1]?.text !== '.') {
      k++;
      break;
    }
    k += 2;
  }
  return parts.length ? { name: parts.slice(-2).join('.'), end: k } : undefined;
}

/** The table an INSERT writes and the columns it lists (undefined when it lists none). */
export function insertTarget(sql: string, engine: Engine): { table: string; columns?: string[] } | undefined {
  const words = tokenize(sql, engine).filter(significant);
  const at = words.findIndex((t) => t.kind === 'word' && /^into$/i.test(t.text));
  if (at === -1 || !/^(insert|replace)$/i.test(words[0]?.text ?? '')) return undefined;
  const target = qualifiedName(words, at + 1);
  if (!target) return undefined;
  let k = target.end;
  if (/^as$/i.test(words[k]?.text ?? '')) k += 2;
  else if (
    words[k]?.kind === 'word' &&
    !/^(values|select|default|set|overriding|with|table|value)$/i.test(words[k]!.text)
  )
    k += 1;
  if (words[k]?.text !== '(' || /^select|with$/i.test(words[k + 1]?.text ?? ''))
    return { table: target.name };
  const columns: string[] = [];
  for (k++; k < words.length && words[k]!.text !== ')'; k++) {
    const t = words[k]!;
    if (t.kind === 'word' || t.kind === 'quoted') columns.push(unquote(t.text));
  }
  return { table: target.name, columns };
}

const TABLE_KEYWORDS = /^(from|join|update|into|using)$/i;

/**
 * The tables a statement names after FROM / JOIN / UPDATE / INTO / USING, with their aliases:
 * enough to say which table a missing column was read from.
 */
export function statementTables(sql: string, engine: Engine): Array<{ table: string; alias?: string }> {
  const words = tokenize(sql, engine).filter(significant);
  const found: Array<{ table: string; alias?: string }> = [];
  for (let k = 0; k < words.length; k++) {
    if (!TABLE_KEYWORDS.test(words[k]!.text) || words[k]!.kind !== 'word') continue;
    let at = k + 1;
    for (;;) {
      if (/^(only|lateral)$/i.test(words[at]?.text ?? '')) at++;
      const ref = qualifiedName(words, at);
      if (!ref) break;
      let end = ref.end;
      let alias: string | undefined;
      if (/^as$/i.test(words[end]?.text ?? '') && words[end + 1]) {
        alias = unquote(words[end + 1]!.text);
        end += 2;
      } else if (
        (words[end]?.kind === 'word' || words[end]?.kind === 'quoted') &&
        !/^(where|join|inner|left|right|full|cross|natural|on|using|set|values|select|group|order|limit|offset|returning|union|having|window|for|default|overriding|as|lock|straight_join)$/i.test(
          words[end]!.text,
        )
      ) {
        alias = unquote(words[end]!.text);
        end += 1;
      }
      found.push(alias ? { table: ref.name, alias } : { table: ref.name });
      if (words[end]?.text !== ',' || !/^from$/i.test(words[k]!.text)) break;
      at = end + 1;
    }
  }
  return found;
}

/** The table an UPDATE writes and the columns its SET list assigns. */
export function updateTarget(sql: string, engine: Engine): { table: string; columns: string[] } | undefined {
  const words = tokenize(sql, engine).filter(significant);
  if (!/^update$/i.test(words[0]?.text ?? '')) return undefined;
  const target = qualifiedName(words, /^(only|low_priority|ignore)$/i.test(words[1]?.text ?? '') ? 2 : 1);
  if (!target) return undefined;
  const set = words.findIndex((t, k) => k >= target.end && t.kind === 'word' && /^set$/i.test(t.text));
  if (set === -1) return undefined;
  const columns: string[] = [];
  let depth = 0;
  for (let k = set + 1; k < words.length; k++) {
    const t = words[k]!;
    if (t.text === '(') depth++;
    else if (t.text === ')') depth--;
    else if (depth === 0 && t.kind === 'word' && /^(where|from|returning|order|limit)$/i.test(t.text)) break;
    else if (depth === 0 && (k === set + 1 || words[k - 1]!.text === ',')) {
      const name = qualifiedName(words, k);
      if (name && words[name.end]?.text === '=') columns.push(name.name.split('.').pop()!);
    }
  }
  return { table: target.name, columns };
}

/**
 * A SELECT that resolves what an UPDATE's or DELETE's tables and WHERE clause name, for a
 * session that may not prepare writes (MySQL refuses them in a read-only session): `UPDATE t
 * SET ... WHERE c` becomes `SELECT 1 FROM t WHERE c`, `DELETE FROM t WHERE c` becomes
 * `SELECT 1 FROM t WHERE c`. Undefined for other statements and forms.
 */
export function readOnlyForm(sql: string, engine: Engine): string | undefined {
  const tokens = tokenize(sql, engine);
  const at = (k: number) => tokens[k]!.text.toLowerCase();
  const words = tokens.map((t, k) => ({ t, k })).filter(({ t }) => significant(t));
  if (!words.length) return undefined;
  const text = (from: number, to = tokens.length) =>
    tokens
      .slice(from, to)
      .map((t) => t.text)
      .join('');
  const first = at(words[0]!.k);
  if (first === 'delete') {
    const from = words[1];
    return from && at(from.k) === 'from' ? `SELECT 1 ${text(from.k)}` : undefined;
  }
  if (first !== 'update') return undefined;
  let depth = 0;
  let set: number | undefined;
  let where: number | undefined;
  for (const { t, k } of words.slice(1)) {
    if (t.text === '(') depth++;
    else if (t.text === ')') depth--;
    else if (depth === 0 && t.kind === 'word' && set === undefined && at(k) === 'set') set = k;
    else if (depth === 0 && t.kind === 'word' && set !== undefined && /^(where|order|limit)$/.test(at(k))) {
      where = k;
      break;
    }
  }
  if (set === undefined) return undefined;
  const modifiers = words.slice(1).find(({ k }) => !/^(low_priority|ignore)$/.test(at(k)))!;
  return `SELECT 1 FROM ${text(modifiers.k, set).trim()}${where === undefined ? '' : ` ${text(where)}`}`;
}
