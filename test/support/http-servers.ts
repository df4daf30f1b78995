import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';

/** A request as the test server saw it, body included. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** The TLS server name the client asked for (HTTPS only). */
  servername?: string;
}

export type Handler = (req: IncomingMessage & { body: string }, res: ServerResponse) => unknown;

/** A loopback HTTP(S) server on port 0 that records requests and can be stopped with everything in flight. */
export interface TestServer {
  url: string;
  port: number;
  requests: SeenRequest[];
  close(): Promise<void>;
}

async function listen(server: Server, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

function wire(server: Server, handler: Handler, requests: SeenRequest[]): () => Promise<void> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const seen: SeenRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      const servername = (req.socket as { servername?: string }).servername;
      if (servername) seen.servername = servername;
      requests.push(seen);
      Promise.resolve(handler(Object.assign(req, { body }), res)).catch((err: Error) => {
        if (!res.headersSent) res.writeHead(500);
        res.end(String(err.message));
      });
    });
  });
  return async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}

/** An HTTP server on 127.0.0.1 (port 0 unless given). */
export async function startHttpServer(handler: Handler, port = 0): Promise<TestServer> {
  const server = createHttpServer({ keepAliveTimeout: 5_000 });
  const requests: SeenRequest[] = [];
  const close = wire(server, handler, requests);
  const bound = await listen(server, port);
  return { url: `http://127.0.0.1:${bound}`, port: bound, requests, close };
}

/** Key and certificate PEMs for one virtual host. */
export interface KeyPair {
  key: string;
  cert: string;
}

/**
 * An HTTPS server on 127.0.0.1. `hosts` maps a TLS server name to its certificate (SNI);
 * `fallback` answers clients that send no name or an unknown one.
 */
export async function startHttpsServer(
  handler: Handler,
  options: { fallback: KeyPair; hosts?: Record<string, KeyPair> },
): Promise<TestServer> {
  const contexts = new Map(
    Object.entries(options.hosts ?? {}).map(([name, pair]) => [name, createSecureContext(pair)]),
  );
  const server = createHttpsServer({
    ...options.fallback,
    SNICallback: (name, cb) => cb(null, contexts.get(name) ?? createSecureContext(options.fallback)),
  }) as unknown as Server;
  const requests: SeenRequest[] = [];
  const close = wire(server, handler, requests);
  const port = await listen(server);
  return { url: `https://127.0.0.1:${port}`, port, requests, close };
}

/** A port that nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Test PKI, made with the openssl command line: a CA, hosts it signed, and a self-signed host. */
export interface TestPki {
  ca: string;
  caFile: string;
  /** Signed by the CA for `name` (and 127.0.0.1), valid `days`. */
  issue(name: string, days?: number): KeyPair;
  /** Self-signed for 127.0.0.1 / localhost. */
  selfSigned: KeyPair;
  cleanup(): void;
}

export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'http-pki-'));
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '30',
    '-subj',
    '/CN=greenlight test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  run(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    'self.key',
    '-out',
    'self.pem',
    '-days',
    '30',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
  );
  let serial = 0;
  const issue = (name: string, days = 30): KeyPair => {
    const base = `host-${++serial}`;
    writeFileSync(
      join(dir, `${base}.ext`),
      `subjectAltName=DNS:${name},IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`,
    );
    run(
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      `${base}.key`,
      '-out',
      `${base}.csr`,
      '-subj',
      `/CN=${name}`,
    );
    run(
      'x509',
      '-req',
      '-in',
      `${base}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${base}.pem`,
      '-days',
      String(days),
      '-extfile',
      `${base}.ext`,
    );
    return {
      key: readFileSync(join(dir, `${base}.key`), 'utf8'),
      cert: readFileSync(join(dir, `${base}.pem`), 'utf8'),
    };
  };
  return {
    ca: readFileSync(join(dir, 'ca.pem'), 'utf8'),
    caFile: join(dir, 'ca.pem'),
    issue,
    selfSigned: {
      key: readFileSync(join(dir, 'self.key'), 'utf8'),
      cert: readFileSync(join(dir, 'self.pem'), 'utf8'),
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
