import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';

/** Where platform-mode tests keep services' configs: an S3 bucket and SSM, both moto's. */
export interface ConfigStore {
  s3: S3Client;
  ssm: SSMClient;
  /** The endpoint variables that send the hooks' and the CLI's S3, SSM and Secrets Manager calls to moto. */
  env: Record<string, string>;
}

/**
 * A bucket `bucket` in moto's S3 (at `motoUrl`), with clients for S3 and SSM, and the endpoint
 * variables set in `process.env` (removed again by `closeConfigStore`).
 */
export async function openConfigStore(motoUrl: string, bucket: string): Promise<ConfigStore> {
  const env = {
    AWS_ENDPOINT_URL_S3: motoUrl,
    AWS_ENDPOINT_URL_SSM: motoUrl,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: motoUrl,
  };
  Object.assign(process.env, env);
  const s3 = new S3Client({ endpoint: motoUrl, forcePathStyle: true });
  const ssm = new SSMClient({ endpoint: motoUrl });
  await s3.send(
    new CreateBucketCommand({
      Bucket: bucket,
      CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
    }),
  );
  return { s3, ssm, env };
}

/** Removes the endpoint variables `openConfigStore` set. */
export function closeConfigStore(
  store: Pick<ConfigStore, 'env'> | { env: NodeJS.ProcessEnv } | undefined,
): void {
  for (const name of Object.keys(store?.env ?? {})) delete process.env[name];
}
