// What a watch follows and reads through, what one poll returns, and the setup errors that end it.
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { awsErrorName } from '../lib/aws';
import type { Paced } from './api-pacer';
import type { Ending, Evidence } from '../checks/diagnosis/evidence';

/** The AWS clients the watch reads through (real SDK clients; only `send` is used). */
export interface WatchClients {
  ecs: Pick<ECSClient, 'send'>;
  elbv2: Pick<ElasticLoadBalancingV2Client, 'send'>;
  cloudwatch: Pick<CloudWatchClient, 'send'>;
  codedeploy: Pick<CodeDeployClient, 'send'>;
  /** For the hooks' verdicts (`hookLogGroups`). */
  logs?: Pick<CloudWatchLogsClient, 'send'>;
}

/** What to follow: a service (its current deployment) or a CodeDeploy deployment. */
export interface WatchTarget {
  cluster?: string;
  service?: string;
  deploymentId?: string;
  /** Log groups (or Lambda function names) of greenlight hooks whose verdicts go on the timeline. */
  hookLogGroups?: string[];
}

/** The deployment or service cannot be followed at all (not found, no permission): nothing to wait for. */
export class WatchSetupError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'WatchSetupError';
  }
}

/** One failed call in a poll. */
export interface SourceError {
  api: string;
  message: string;
  throttled: boolean;
}

/** Takes a paced call's value, noting a failed (not skipped) call as a SourceError of the poll. */
export type NoteCall = <T>(api: string, r: Paced<T>) => T | undefined;

export interface Reading {
  evidence: Evidence;
  /** Where the deployment stands; undefined while it is in progress. */
  ended?: Exclude<Ending, 'stalled'>;
  /** Whether the primary source (ECS DescribeServices or CodeDeploy GetDeployment) answered. */
  primaryAnswered: boolean;
  errors: SourceError[];
}

/** Errors that mean the arguments name nothing there, or nothing we may read. */
const SETUP_ERRORS = new Set([
  'ClusterNotFoundException',
  'ServiceNotFoundException',
  'DeploymentDoesNotExistException',
  'DeploymentGroupDoesNotExistException',
  'InvalidDeploymentIdException',
  'AccessDeniedException',
  'AccessDenied',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'ExpiredTokenException',
]);

/** Whether a setup failure is one that waiting will not cure. */
export function isSetupError(err: unknown): boolean {
  if (SETUP_ERRORS.has(awsErrorName(err) ?? '')) return true;
  // The SDK's own configuration errors: no region, no credentials.
  return err instanceof Error && /Region is missing|Could not load credentials/i.test(err.message);
}
