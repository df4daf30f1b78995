import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { awsClientConfig } from './aws';
import { recordAttemptErrors } from './aws-attempt-errors';

/** The narrow seam: anything with the client's `send`. */
export type CodeDeploySender = Pick<CodeDeployClient, 'send'>;

let defaultClient: CodeDeployClient | undefined;

/** One client per container, created on first use (so `AWS_ENDPOINT_URL_CODEDEPLOY` is read then). */
export function defaultCodeDeployClient(): CodeDeployClient {
  if (!defaultClient) {
    defaultClient = new CodeDeployClient(awsClientConfig());
    recordAttemptErrors(defaultClient);
  }
  return defaultClient;
}
