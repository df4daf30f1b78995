// The schema check's finding: one piece of evidence, which version it breaks, and how strictly it counts.
import type { SchemaContract } from './contract';

export type Version = 'blue' | 'green';
export type Severity = 'failure' | 'warning';

/** One piece of evidence against (or a caution about) a version's contract. */
export interface Finding {
  /** The reference's check id: S3, S4, S6 ... S13; S14 an application statement that no longer prepares. */
  rule: 'S3' | 'S4' | 'S6' | 'S7' | 'S8' | 'S9' | 'S10' | 'S11' | 'S13' | 'S14';
  /** Which version it breaks; both when the database itself is broken (a failed migration). */
  version: Version | 'both';
  /** `users.nickname`, `migration V3__drop_name`, ... */
  subject: string;
  severity: Severity;
  expected: unknown;
  actual: unknown;
  /** A sentence: what, which version, how, and why it matters. */
  message: string;
}

/** How strictly findings that do not always break a version count. */
export interface SeverityPolicy {
  /** New or NOT VALID constraints on columns a version writes. */
  constraints: Severity;
  /** Online schema changes in flight (shadow tables, running ALTERs, open pgroll migrations). */
  inFlight: Severity;
  /** Applied migrations that no contract gives a phase. */
  unknownMigrations: Severity;
}

export interface VersionContract {
  version: Version;
  contract: SchemaContract;
}
