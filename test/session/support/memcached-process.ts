import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const MEMCACHED_BIN = '/usr/bin/memcached';

/** Why memcached cannot be tested with TLS here, or undefined when it can. */
export function memcachedTlsUnsupported(): string | undefined {
  if (!existsSync(MEMCACHED_BIN)) return `${MEMCACHED_BIN} is not installed`;
  const help = execFileSync(MEMCACHED_BIN, ['-h'], { encoding: 'utf8' });
  return /--enable-ssl/.test(help)
    ? undefined
    : 'this memcached build has no TLS (built without --enable-tls)';
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A CA and a server certificate for 127.0.0.1/localhost, made with the openssl CLI. */
export interface TestCertificates {
  dir: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  /** A second CA that signed nothing here: trusting it alone must fail verification. */
  otherCaFile: string;
}

export function makeCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'session-tls-'));
  const at = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    at('ca.key'),
    '-out',
    at('ca.crt'),
    '-days',
    '1',
    '-subj',
    '/CN=session test CA',
  );
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    at('other-ca.key'),
    '-out',
    at('other-ca.crt'),
    '-days',
    '1',
    '-subj',
    '/CN=unrelated CA',
  );
  openssl('req', ...ec, '-keyout', at('server.key'), '-out', at('server.csr'), '-subj', '/CN=localhost');
  writeFileSync(at('ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl(
    'x509',
    '-req',
    '-in',
    at('server.csr'),
    '-CA',
    at('ca.crt'),
    '-CAkey',
    at('ca.key'),
    '-CAcreateserial',
    '-out',
    at('server.crt'),
    '-days',
    '1',
    '-extfile',
    at('ext.cnf'),
  );
  return {
    dir,
    caFile: at('ca.crt'),
    certFile: at('server.crt'),
    keyFile: at('server.key'),
    otherCaFile: at('other-ca.crt'),
  };
}

/** A memcached the test owns: started on a free loopback port, stopped by `stop()`. */
export class MemcachedProcess {
  private child: ChildProcess | undefined;
  port = 0;

  constructor(
    private readonly options: { tls?: TestCertificates; memoryMb?: number; extraArgs?: string[] } = {},
  ) {}

  async start(): Promise<number> {
    this.port = await freePort();
    const args = [
      '-l',
      '127.0.0.1',
      '-p',
      String(this.port),
      '-U',
      '0',
      '-m',
      String(this.options.memoryMb ?? 16),
    ];
    args.push(...(this.options.extraArgs ?? []));
    if (process.getuid?.() === 0) args.push('-u', 'root');
    if (this.options.tls)
      args.push(
        '-Z',
        '-o',
        `ssl_chain_cert=${this.options.tls.certFile},ssl_key=${this.options.tls.keyFile}`,
      );
    const child = spawn(MEMCACHED_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null)
        throw new Error(`memcached exited with ${child.exitCode}: ${stderr.trim()}`);
      if (await this.accepts()) return this.port;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await this.stop();
    throw new Error(`memcached did not listen on 127.0.0.1:${this.port} within 5 s: ${stderr.trim()}`);
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await exited;
  }

  private accepts(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port: this.port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
  }
}
