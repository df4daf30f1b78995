import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHookHandler } from '../../lib/hook-handler';
import { codeDeployServer } from '../support/aws-json-server';
import { scriptedCheckType } from '../support/test-check-types';

const server = codeDeployServer();
beforeAll(async () => { process.env.AWS_ENDPOINT_URL_CODEDEPLOY = await server.start(); });
afterAll(() => server.stop());

it('reports once', async () => {
  server.script('PutLifecycleEventHookExecutionStatus', { body: { lifecycleEventHookExecutionId: 'x' } });
  const dir = mkdtempSync(join(tmpdir(), 'gl-'));
  writeFileSync(join(dir, 'g.yml'), 'targets: { test: "http://127.0.0.1:1" }\nchecks:\n  a: { type: scripted, behaviour: pass }\nhooks:\n  AfterAllowTestTraffic: [a]\n');
  const h = createHookHandler('AfterAllowTestTraffic', { checkTypes: [scriptedCheckType], configPath: join(dir, 'g.yml') });
  const out = await h({ DeploymentId: 'd-ABCDEFGHI', LifecycleEventHookExecutionId: 'exec' }, { getRemainingTimeInMillis: () => 30000 });
  expect(out.status).toBe('Succeeded');
  expect(server.calls.map((c) => c.body)).toEqual([{ deploymentId: 'd-ABCDEFGHI', lifecycleEventHookExecutionId: 'exec', status: 'Succeeded' }]);
});
