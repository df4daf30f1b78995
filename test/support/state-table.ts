import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** The state table as the README documents it (partition key `pk`), created in moto. */
export async function createStateTable(endpoint: string, name: string): Promise<DynamoDBClient> {
  const client = new DynamoDBClient({
    endpoint,
    region: process.env.AWS_REGION ?? 'eu-west-1',
  });
  await client.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  return client;
}
