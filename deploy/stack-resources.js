// @ts-check
'use strict';

/**
 * What a greenlight stack adds around its functions (used by deploy/greenlight-plugin.js): where
 * failed asynchronous invocations go, the alarms on the hooks' errors and throttles, and the role
 * ECS assumes to invoke its built-in hook.
 */
const { sub } = require('./iam-statements');

// Lambda's on-failure destinations take standard queues and topics only: a FIFO name has a dot.
const FAILURE_DESTINATION_ARN = /^arn:aws[a-z-]*:(sqs|sns):[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;
const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;
/** The queue the stack creates for failed asynchronous invocations when no destination is given. */
const FAILURE_QUEUE = 'HookFailureQueue';
const ECS_INVOKE_ROLE = 'EcsLifecycleHookInvokeRole';
const FOURTEEN_DAYS_S = 14 * 24 * 60 * 60;
/** Lambda metrics that mean a hook did not run to its report: a crash or timeout, or no run at all. */
const HOOK_ALARM_METRICS = { Errors: 'HookErrorsAlarm', Throttles: 'HookThrottlesAlarm' };

/** Where a hook's failed asynchronous invocations go, in the form serverless's `destinations` takes. */
function failureDestination(failureDestinationArn) {
  if (!failureDestinationArn) return { type: 'sqs', arn: { 'Fn::GetAtt': [FAILURE_QUEUE, 'Arn'] } };
  return { type: FAILURE_DESTINATION_ARN.exec(failureDestinationArn)[1], arn: failureDestinationArn };
}

/**
 * What the stack adds around the functions: the queue for failed invocations (unless one is
 * given), an alarm on the hooks' Errors and one on their Throttles, and, with the ECS hook, the
 * role ECS assumes to invoke it. `functionIds` are the functions' logical ids.
 */
function stackResources({ service, stage, functionIds, ecsHookId, failureDestinationArn, alarmActionArn }) {
  const resources = {};
  const outputs = {};
  const exported = (name, value, description) => {
    outputs[name] = {
      Description: description,
      Value: value,
      Export: { Name: sub(`\${AWS::StackName}-${name}`) },
    };
  };
  if (!failureDestinationArn) {
    resources[FAILURE_QUEUE] = {
      Type: 'AWS::SQS::Queue',
      Properties: { MessageRetentionPeriod: FOURTEEN_DAYS_S, SqsManagedSseEnabled: true },
    };
    exported('HookFailureQueueUrl', { Ref: FAILURE_QUEUE }, 'Failed asynchronous hook invocations');
  }
  for (const [metric, id] of Object.entries(HOOK_ALARM_METRICS)) {
    resources[id] = {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmName: `${service}-${stage}-Hook${metric}`,
        AlarmDescription: `A greenlight hook function reported ${metric}: the deployment it served may be waiting for CodeDeploy's one-hour hook timeout, or ECS may have rolled it back. Read the function's log.`,
        Metrics: [
          ...functionIds.map((fnId, i) => ({
            Id: `hook${i}`,
            MetricStat: {
              Metric: {
                Namespace: 'AWS/Lambda',
                MetricName: metric,
                Dimensions: [{ Name: 'FunctionName', Value: { Ref: fnId } }],
              },
              Period: 60,
              Stat: 'Sum',
            },
            ReturnData: false,
          })),
          {
            Id: 'total',
            Expression: 'SUM(FILL(METRICS(), 0))',
            Label: `${metric} of the hooks`,
            ReturnData: true,
          },
        ],
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
        ...(alarmActionArn ? { AlarmActions: [alarmActionArn] } : {}),
      },
    };
  }
  if (ecsHookId) {
    resources[ECS_INVOKE_ROLE] = {
      Type: 'AWS::IAM::Role',
      Properties: {
        Description:
          'Assumed by Amazon ECS to invoke the greenlight lifecycle hook (the service names it in roleArn)',
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { Service: 'ecs.amazonaws.com' }, Action: 'sts:AssumeRole' },
          ],
        },
        Policies: [
          {
            PolicyName: 'invoke-ecs-lifecycle-hook',
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [
                {
                  Effect: 'Allow',
                  Action: 'lambda:InvokeFunction',
                  Resource: { 'Fn::GetAtt': [ecsHookId, 'Arn'] },
                },
              ],
            },
          },
        ],
      },
    };
    exported(
      'EcsLifecycleHookArn',
      { 'Fn::GetAtt': [ecsHookId, 'Arn'] },
      'hookTargetArn of the ECS lifecycle hook',
    );
    exported(
      'EcsLifecycleHookRoleArn',
      { 'Fn::GetAtt': [ECS_INVOKE_ROLE, 'Arn'] },
      'roleArn of the ECS lifecycle hook',
    );
  }
  return { resources, outputs };
}

module.exports = { FAILURE_DESTINATION_ARN, SNS_TOPIC_ARN, failureDestination, stackResources };
