import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { awsClientConfig, awsErrorName } from './aws';

// The DynamoDB table where bake windows keep their state between invocations and where
// `greenlight approve` / `reject` leave their decisions. One table, partition key `pk` (string),
// optional TTL attribute `expiresAt`. Every write that could race is conditional.

export type DynamoSender = Pick<DynamoDBClient, 'send'>;

let defaultClient: Promise<DynamoSender> | undefined;

/** The DynamoDB client, created on first use with greenlight's timeouts and retries. */
export function defaultDynamoClient(): Promise<DynamoSender> {
  defaultClient ??= import('@aws-sdk/client-dynamodb').then(
    ({ DynamoDBClient }) => new DynamoDBClient(awsClientConfig()),
  );
  return defaultClient;
}

/** `GREENLIGHT_STATE_TABLE`: the table's name, or undefined when none is configured. */
export function stateTableName(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.GREENLIGHT_STATE_TABLE || undefined;
}

/** Days an item is kept (TTL) after its last write: long enough to read a verdict afterwards. */
export const ITEM_TTL_SECONDS = 7 * 86_400;

export const isConditionFailure = (err: unknown) => awsErrorName(err) === 'ConditionalCheckFailedException';

export type Item = Record<string, AttributeValue>;

export const str = (value: string): AttributeValue => ({ S: value });
export const num = (value: number): AttributeValue => ({ N: String(value) });

export function readString(item: Item | undefined, key: string): string | undefined {
  const value = item?.[key];
  return value && 'S' in value ? value.S : undefined;
}

export function readNumber(item: Item | undefined, key: string): number | undefined {
  const value = item?.[key];
  return value && 'N' in value && value.N !== undefined ? Number(value.N) : undefined;
}

/** A consistent read of one item; undefined when it does not exist. */
export async function getItem(
  client: DynamoSender,
  table: string,
  pk: string,
  signal?: AbortSignal,
): Promise<Item | undefined> {
  const { GetItemCommand } = await import('@aws-sdk/client-dynamodb');
  const out = await client.send(
    new GetItemCommand({ TableName: table, Key: { pk: str(pk) }, ConsistentRead: true }),
    signal ? { abortSignal: signal } : {},
  );
  return out.Item;
}
