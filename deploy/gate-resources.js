'use strict';

const { sub } = require('./iam-statements');

const STATE_TABLE = 'GreenlightStateTable';

/**
 * What a config with a bake window or an approval adds to the stack: the state table (partition
 * key `pk`, TTL on `expiresAt`), its name in every function's GREENLIGHT_STATE_TABLE, and the
 * role's rights to read and conditionally write it and to invoke the hooks themselves (the next
 * slice of a window is an asynchronous invocation of the same function).
 */
function gateResources({ service, stage, functionNames }) {
  const tableName = `${service}-${stage}-state`;
  const resources = {
    [STATE_TABLE]: {
      Type: 'AWS::DynamoDB::Table',
      Properties: {
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        SSESpecification: { SSEEnabled: true },
      },
    },
  };
  const statements = [
    {
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      Resource: [{ 'Fn::GetAtt': [STATE_TABLE, 'Arn'] }],
    },
    {
      Effect: 'Allow',
      Action: ['lambda:InvokeFunction'],
      Resource: functionNames.map((name) =>
        sub(`arn:\${AWS::Partition}:lambda:\${AWS::Region}:\${AWS::AccountId}:function:${name}`),
      ),
    },
  ];
  return { resources, statements, environment: { GREENLIGHT_STATE_TABLE: tableName } };
}

module.exports = { gateResources, STATE_TABLE };
