import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from './http-servers';

/** A moto_server process (an AWS implementation nobody here wrote) on a free loopback port. */
export interface Moto {
  url: string;
  /**
   * moto's CodeDeploy with one answer made readable: its GetDeployment gives `createTime` (and
   * the other times) as ISO strings, where AWS gives epoch seconds and the JS SDK rejects a string.
   * Everything else passes through unchanged.
   */
  codeDeployUrl: string;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 30_000;
const DEPLOYMENT_TIMES = ['createTime', 'startTime', 'completeTime'] as const;

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Starts `moto_server -H 127.0.0.1 -p PORT` and resolves once it says it is listening. */
export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(`did not start within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill();
      reject(new Error(`moto_server on port ${port} ${why}:\n${output}`));
    };
    const seen = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes(`Running on http://127.0.0.1:${port}`)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
    child.once('error', (err) => fail(`could not be run (${err.message})`));
    child.once('exit', (code) => fail(`exited with ${code}`));
  });
  const url = `http://127.0.0.1:${port}`;

  const front = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(
          (entry): entry is [string, string] => typeof entry[1] === 'string' && entry[0] !== 'host',
        ),
      );
      const answer = await fetch(`${url}${req.url ?? '/'}`, { method: req.method ?? 'POST', headers, body });
      let text = await answer.text();
      if (String(req.headers['x-amz-target']).endsWith('.GetDeployment') && answer.ok) {
        const doc = JSON.parse(text) as { deploymentInfo?: Record<string, unknown> };
        for (const field of DEPLOYMENT_TIMES) {
          const value = doc.deploymentInfo?.[field];
          if (typeof value === 'string') doc.deploymentInfo![field] = Date.parse(value) / 1000;
        }
        text = JSON.stringify(doc);
      }
      res.writeHead(answer.status, {
        'content-type': answer.headers.get('content-type') ?? 'application/json',
      });
      res.end(text);
    })().catch((err: Error) => {
      res.writeHead(502);
      res.end(err.message);
    });
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));

  return {
    url,
    codeDeployUrl: `http://127.0.0.1:${(front.address() as AddressInfo).port}`,
    async stop() {
      front.closeAllConnections();
      await new Promise<void>((resolve) => front.close(() => resolve()));
      child.kill();
      await exited;
    },
  };
}
