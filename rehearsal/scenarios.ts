import type { LifecycleEvent } from '../checks/types';
import type { AppVersionSpec } from './sample-app';

/** One rehearsal: blue (v1) is live, green is this scenario's v2. */
export interface Scenario {
  name: string;
  summary: string;
  /** What a reader should see happen. */
  expect: string;
  /** How the deployment must end when the checks do their job. */
  expectedEnd: 'Succeeded' | { rolledBackAt: string };
  green: AppVersionSpec;
  /** Lifecycle events whose checks this scenario lists itself, instead of the config's. */
  hooks?: Partial<Record<LifecycleEvent, string[]>>;
  /** What the release manager does when an approval is requested (default: nobody answers). */
  approver?: { approvesAfterMinutes: number };
}

/** Blue: the version in production when the deployment starts. */
export const BLUE: AppVersionSpec = {
  version: 'v1',
  migrations: [],
  reads: ['id', 'email', 'display_name'],
  writes: ['email', 'display_name'],
  sessionShape: 'flat',
};

/** A sound v2: an expand-only migration (a nullable column), the same session format. */
const GOOD_GREEN: AppVersionSpec = {
  version: 'v2',
  migrations: [{ id: '002', phase: 'expand', sql: 'ALTER TABLE users ADD COLUMN nickname text' }],
  reads: ['id', 'email', 'display_name', 'nickname'],
  writes: ['email', 'display_name'],
  sessionShape: 'flat',
};

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'good',
    summary: 'v2 adds a nullable column and keeps the session format',
    expect: 'every hook succeeds; production ends on green at 100%',
    expectedEnd: 'Succeeded',
    green: GOOD_GREEN,
  },
  {
    name: 'broken-endpoint',
    summary: 'v2 answers 500 on GET /api/users/:id',
    expect: "rolled back at AfterAllowTestTraffic: the 'smoke' check sees the 500 on the test listener",
    expectedEnd: { rolledBackAt: 'AfterAllowTestTraffic' },
    green: { ...GOOD_GREEN, brokenUsersEndpoint: true },
  },
  {
    name: 'dropped-column',
    summary: 'v2 drops users.display_name, which blue still reads',
    expect: "rolled back at AfterAllowTestTraffic: the 'schema' check finds a column blue reads missing",
    expectedEnd: { rolledBackAt: 'AfterAllowTestTraffic' },
    green: {
      ...GOOD_GREEN,
      migrations: [{ id: '002', phase: 'contract', sql: 'ALTER TABLE users DROP COLUMN display_name' }],
      reads: ['id', 'email'],
      writes: ['email'],
    },
  },
  {
    name: 'session-format-change',
    summary: 'v2 stores sessions as { user: { id } } instead of { userId }',
    expect:
      "rolled back at AfterAllowTestTraffic: the 'sessions' check finds that blue's sessions do not work on green",
    expectedEnd: { rolledBackAt: 'AfterAllowTestTraffic' },
    green: { ...GOOD_GREEN, sessionShape: 'nested' },
  },
  {
    name: 'slow-start',
    summary: 'v2 needs 3 seconds before it is ready',
    expect: 'Install waits until green passes its health check; every hook then succeeds',
    expectedEnd: 'Succeeded',
    green: { ...GOOD_GREEN, readyAfterMs: 3_000 },
  },
  {
    name: 'crash-loop',
    summary: 'v2 exits at start with code 1 (a missing setting), every time ECS starts it',
    expect:
      'rolled back at Install: green never starts; the diagnosis names the essential container that exits',
    expectedEnd: { rolledBackAt: 'Install' },
    green: { ...GOOD_GREEN, crashOnStart: { exitCode: 1, log: 'Error: DATABASE_URL is not set' } },
  },
  {
    name: 'health-check-path',
    summary: 'v2 moved its health check to /healthz; the target group still asks /health',
    expect:
      'rolled back at Install: green answers 404 to the health check; the diagnosis names the health check path',
    expectedEnd: { rolledBackAt: 'Install' },
    green: { ...GOOD_GREEN, healthPath: '/healthz' },
  },
  {
    name: 'error-burst-after-shift',
    summary:
      'v2 leaks connections: GET /api/users/:id fails from its 4th call after it takes all production traffic',
    expect:
      "rolled back at AfterAllowTraffic: the 'bake' window, watching production for 10 minutes, catches the 500s once the leak starts",
    expectedEnd: { rolledBackAt: 'AfterAllowTraffic' },
    green: { ...GOOD_GREEN, errorBurstAfterFullTraffic: { afterRequests: 3 } },
    hooks: { AfterAllowTraffic: ['production', 'bake'] },
  },
  {
    name: 'approved-release',
    summary: 'v2 is sound; a release manager approves it 2 minutes after being asked',
    expect: "BeforeAllowTraffic waits at 'sign-off' until the approval, then every hook succeeds",
    expectedEnd: 'Succeeded',
    green: GOOD_GREEN,
    hooks: { BeforeAllowTraffic: ['smoke', 'sign-off'] },
    approver: { approvesAfterMinutes: 2 },
  },
  {
    name: 'approval-timeout',
    summary: 'v2 is sound, but nobody answers the approval request',
    expect: "rolled back at BeforeAllowTraffic: 'sign-off' fails closed after its 5-minute timeout",
    expectedEnd: { rolledBackAt: 'BeforeAllowTraffic' },
    green: GOOD_GREEN,
    hooks: { BeforeAllowTraffic: ['smoke', 'sign-off'] },
  },
];

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
