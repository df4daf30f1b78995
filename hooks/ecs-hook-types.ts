// The ECS hook's contract: the options it takes, the answer ECS reads and the decision behind it.
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Context } from 'aws-lambda';
import type { CheckType } from '../checks/check-type';
import type { Verdict } from '../checks/runner';
import type { LoadOptions } from '../config/config';
import type { ConfigReader } from '../config/config-reader';
import type { Logger } from '../lib/log';
import type { SkippedVerdict } from './break-glass';
import type { GateOptions } from './gate/gated-hook';

export type EcsHookStatus = 'SUCCEEDED' | 'FAILED' | 'IN_PROGRESS';

/** Exactly what ECS reads back: anything else could make the answer invalid, which rolls back. */
export interface EcsHookResponse {
  hookStatus: EcsHookStatus;
  callBackDelay?: number;
  hookDetails?: Record<string, unknown>;
}

/** The answer for ECS with the reason and verdict behind it, for logs and tests. */
export interface EcsHookDecision {
  response: EcsHookResponse;
  reason: string;
  verdict?: Verdict;
  /** Set when the invocation was recognised as part of a rollback (checks are not run). */
  rollback?: string;
  /** Set when the stage passed without running checks (break-glass). */
  skipped?: SkippedVerdict;
}

/** Everything the ECS hook takes from outside; each option has a default from the environment. */
export interface EcsHookHandlerOptions {
  checkTypes?: readonly CheckType[];
  /**
   * Default: `GREENLIGHT_CONFIG`, else `greenlight.yml`, from the working directory (the Lambda task
   * root); or an `s3://` / `ssm:/` template over the service (platform mode).
   */
  configPath?: string;
  /** Reads platform-mode configs (default: S3 and SSM clients). */
  configReader?: ConfigReader;
  log?: Logger;
  /** `${provider:...}` resolvers for the config (default: `secretsmanager` and `ssm`). */
  resolvers?: LoadOptions['resolvers'];
  /** Reads the service deployment's status to recognise a rollback, and green's service revision and tasks. */
  ecs?: Pick<ECSClient, 'send'>;
  /** Reads green's target health for the diagnosis (default: created on first use). */
  elbv2?: Pick<ElasticLoadBalancingV2Client, 'send'>;
  /**
   * Whether a FAILED answer for an http check at POST_SCALE_UP, TEST_TRAFFIC_SHIFT or
   * POST_TEST_TRAFFIC_SHIFT adds green's tasks' diagnosis (default true).
   */
  diagnoseGreen?: boolean;
  /** The stage when the payload names none (default `GREENLIGHT_ECS_STAGE`). */
  stage?: string;
  /** Seconds ECS waits before invoking again after IN_PROGRESS (default `GREENLIGHT_ECS_CALLBACK_DELAY_SECONDS`, else 30). */
  callBackDelaySeconds?: number;
  /** How long, from the first attempt, a stage may stay undecided before it fails (default `GREENLIGHT_ECS_MAX_WAIT_SECONDS`, else 600). */
  maxWaitSeconds?: number;
  now?: () => number;
  /** Bake windows and approvals: their clock, announcer and state table (see hooks/gate/). */
  gate?: GateOptions;
}

/** The part of the Lambda context the hook reads. */
export type EcsContext = Partial<Pick<Context, 'getRemainingTimeInMillis' | 'awsRequestId'>>;
