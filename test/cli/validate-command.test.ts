import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../../bin/command';
import { createValidateCommand } from '../../bin/commands/validate';
import { scriptedCheckType } from '../support/test-check-types';
import { cliIO, normalise } from './cli-io';

const dir = mkdtempSync(join(tmpdir(), 'greenlight-cli-validate-'));
let server: Server;
let live: string;
beforeAll(async () => {
  server = createServer((_req, res) => res.writeHead(404).end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  live = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

const command = createValidateCommand({ checkTypes: [scriptedCheckType] });
const file = (text: string) => {
  const path = join(dir, `c${Math.random().toString(36).slice(2)}.yml`);
  writeFileSync(path, text);
  return path;
};

describe('greenlight validate', () => {
  it('exits 0 when the config is valid and every target answers (any status counts)', async () => {
    const { io, stdout } = cliIO();
    const code = await command.run(
      [
        '--config',
        file(
          `targets: { test: "${live}", prod: "${live}" }\nchecks: { smoke: { type: scripted, behaviour: pass } }\nhooks: { AfterAllowTestTraffic: [smoke] }\n`,
        ),
      ],
      io,
    );
    expect(code).toBe(EXIT_OK);
    expect(normalise(stdout())).toMatch(
      /is valid: 1 check at 1 lifecycle event\nok {3}target test http:\/\/127\.0\.0\.1:<port>\/ answered 404 in <duration>\n/,
    );
  });

  it('exits 1 naming the target that does not answer', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const { io, stdout } = cliIO();
    expect(
      await command.run(
        ['--config', file(`targets: { test: "${live}", prod: "http://127.0.0.1:${port}" }\n`)],
        io,
      ),
    ).toBe(EXIT_FAILED);
    expect(stdout()).toContain(`FAIL target prod http://127.0.0.1:${port}/ did not answer: ECONNREFUSED`);
  });

  it('exits 2 listing every unset ${env:...} at once, ignoring comments and defaults', async () => {
    const { io, stdout } = cliIO({ env: { SET: 'x' } });
    const config = file(
      '# ${env:IN_A_COMMENT}\ntargets: { test: "${env:GREEN_URL}", prod: "${env:BLUE_URL}", x: "${env:OPT:-http://a}" }\nchecks: {}\nz: "${env:SET}"\n',
    );
    expect(await command.run(['--config', config], io)).toBe(EXIT_USAGE);
    expect(stdout()).toBe('FAIL environment variables not set: GREEN_URL, BLUE_URL\n');
  });

  it('exits 2 with the config error for an invalid config', async () => {
    const { io, stdout } = cliIO();
    expect(
      await command.run(
        ['--config', file(`targets: { test: "${live}" }\nhooks: { AfterAllowTestTraffic: [ghost] }\n`)],
        io,
      ),
    ).toBe(EXIT_USAGE);
    expect(stdout()).toMatch(/FAIL config: .*hooks\.AfterAllowTestTraffic\[0\]: unknown check "ghost"/);
  });
});
