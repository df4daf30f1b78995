import { XMLBuilder } from 'fast-xml-parser';
import type { CheckResult } from '../checks/types';
import type { VerdictDocument } from './verdict-json';

// XML 1.0 forbids most control characters even when escaped; a check message may carry them.
const NOT_XML = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

function clean(text: string): string {
  return text.replace(NOT_XML, '\uFFFD');
}

function seconds(ms: number): string {
  return (ms / 1_000).toFixed(3);
}

function show(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
}

function evidence(check: VerdictDocument['checks'][number]): string {
  const lines = [check.message];
  for (const a of check.assertions)
    lines.push(`${a.ok ? 'ok  ' : 'FAIL'} ${a.what}: expected ${show(a.expected)}, actual ${show(a.actual)}`);
  return clean(lines.join('\n'));
}

function testcase(hook: string, check: VerdictDocument['checks'][number]): Record<string, unknown> {
  const node: Record<string, unknown> = {
    '@_name': clean(check.name),
    '@_classname': `greenlight.${hook}.${check.type}`,
    '@_time': seconds(check.durationMs),
  };
  const body = { '@_message': clean(check.message), '@_type': check.outcome, '#text': evidence(check) };
  if (check.outcome === 'passed') {
    if (check.assertions.length) node['system-out'] = evidence(check);
  } else if (check.advisory) {
    // An advisory check never gates: CI shows it as skipped rather than failing the build.
    node.skipped = { '@_message': clean(`advisory check ${check.outcome}: ${check.message}`) };
  } else if (check.outcome === 'error') {
    node.error = body;
  } else {
    // failed, and inconclusive (which fails closed: the hook would report Failed).
    node.failure = body;
  }
  return node;
}

/**
 * JUnit XML of one lifecycle event, in the shape CodeBuild, GitLab and GitHub test reports read:
 * one testsuite per event, one testcase per check. `failed` and `inconclusive` are failures,
 * `error` is an error, a non-passing advisory check is skipped.
 */
export function junitReport(doc: VerdictDocument, timestamp = new Date()): string {
  const gating = doc.checks.filter((c) => !c.advisory);
  const count = (o: CheckResult['outcome'][]) => gating.filter((c) => o.includes(c.outcome)).length;
  const failures = count(['failed', 'inconclusive']);
  const errors = count(['error']);
  const skipped = doc.checks.filter((c) => c.advisory && c.outcome !== 'passed').length;
  const suite = {
    '@_name': `greenlight ${doc.hook}`,
    '@_tests': doc.checks.length,
    '@_failures': failures,
    '@_errors': errors,
    '@_skipped': skipped,
    '@_time': seconds(doc.durationMs),
    '@_timestamp': timestamp.toISOString().replace(/\.\d{3}Z$/, ''),
    properties: {
      property: [
        { '@_name': 'hook', '@_value': doc.hook },
        { '@_name': 'status', '@_value': doc.status },
        { '@_name': 'reason', '@_value': clean(doc.reason) },
        ...Object.entries(doc.targets).map(([name, url]) => ({ '@_name': `target.${name}`, '@_value': url })),
      ],
    },
    testcase: doc.checks.map((c) => testcase(doc.hook, c)),
  };
  const builder = new XMLBuilder({ ignoreAttributes: false, format: true, suppressEmptyNode: true });
  const xml = builder.build({
    testsuites: {
      '@_name': 'greenlight',
      '@_tests': doc.checks.length,
      '@_failures': failures,
      '@_errors': errors,
      '@_time': seconds(doc.durationMs),
      testsuite: suite,
    },
  }) as string;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${xml}`;
}
