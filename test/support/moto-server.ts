import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { CodeDeployOverMoto } from './codedeploy-over-moto';
import { freePort } from './http-servers';

/** The command that starts moto's server: Python's `moto[server]`, an AWS implementation of its own. */
export const MOTO_SERVER = process.env.GREENLIGHT_MOTO_SERVER ?? 'moto_server';
const START_TIMEOUT_MS = 30_000;

/** Why moto's server cannot run here, or undefined when it can. */
export function motoUnavailable(): string | undefined {
  const probe = spawnSync(MOTO_SERVER, ['--help'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0)
    return (
      `${MOTO_SERVER} does not run (${probe.error?.message ?? `exit ${probe.status}`}): ` +
      "the AWS tests need Python's moto 5 with its server (pip install 'moto[server]==5.*')"
    );
  return undefined;
}

/**
 * moto's server on a free loopback port, one per test file (its state is its own). The real AWS SDK
 * clients reach it through `AWS_ENDPOINT_URL_<SERVICE>`; every service answers on the one port.
 */
export class MotoServer {
  private child: ChildProcess | undefined;
  url = '';

  async start(): Promise<string> {
    const why = motoUnavailable();
    if (why) throw new Error(why);
    const port = await freePort();
    const child = spawn(MOTO_SERVER, ['-H', '127.0.0.1', '-p', String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let output = '';
    // Werkzeug says it listens ("Running on http://127.0.0.1:PORT") once the socket is bound.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`moto_server did not start within ${START_TIMEOUT_MS} ms:\n${output}`)),
        START_TIMEOUT_MS,
      );
      const seen = (chunk: Buffer) => {
        output += String(chunk);
        if (output.includes(`Running on http://127.0.0.1:${port}`)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', seen);
      child.stderr!.on('data', seen);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`moto_server exited with ${code}:\n${output}`));
      });
    });
    child.stdout!.removeAllListeners('data').resume();
    child.stderr!.removeAllListeners('data').resume();
    child.removeAllListeners('exit');
    this.url = `http://127.0.0.1:${port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await exited;
  }
}

/** moto's server with the local CodeDeploy in front of it (test/support/codedeploy-over-moto.ts). */
export interface Moto {
  url: string;
  /** CodeDeploy reads answered by moto, with its timestamps made readable to the JavaScript SDK. */
  codeDeployUrl: string;
  stop(): Promise<void>;
}

export async function startMoto(): Promise<Moto> {
  const moto = new MotoServer();
  const url = await moto.start();
  const codedeploy = new CodeDeployOverMoto(() => url);
  const codeDeployUrl = await codedeploy.start();
  return {
    url,
    codeDeployUrl,
    async stop() {
      await codedeploy.stop();
      await moto.stop();
    },
  };
}
