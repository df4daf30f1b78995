// The parts of a rehearsal that outlive one scenario: the embedded PostgreSQL and the CodeDeploy stand-in.
import { CodeDeployStandIn } from './codedeploy-stand-in';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres';

/**
 * The parts that outlive one scenario: the embedded PostgreSQL (its start is the slow part) and
 * the CodeDeploy stand-in. Each scenario gets a fresh schema, store, apps and load balancer.
 */
export interface RehearsalWorld {
  postgres: EmbeddedPostgres;
  codedeploy: CodeDeployStandIn;
  close(): Promise<void>;
}

export async function openRehearsalWorld(): Promise<RehearsalWorld> {
  const codedeploy = new CodeDeployStandIn();
  await codedeploy.start();
  let postgres: EmbeddedPostgres;
  try {
    postgres = await startEmbeddedPostgres();
  } catch (err) {
    await codedeploy.stop();
    throw err;
  }
  return {
    postgres,
    codedeploy,
    async close() {
      await codedeploy.stop();
      await postgres.stop();
    },
  };
}
