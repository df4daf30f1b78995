import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { KeyPair } from '../../support/http-servers';

/** A loopback TCP endpoint that misbehaves on purpose; `close()` ends every connection it holds. */
export interface FaultEndpoint {
  host: '127.0.0.1';
  port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

async function serve(server: Server, onSocket: (socket: Socket) => void): Promise<FaultEndpoint> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const track = (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onSocket(socket);
  };
  server.on('connection', track);
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    get connections() {
      return connections;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Accepts connections and never says a word: a dependency that hangs. */
export function silentEndpoint(): Promise<FaultEndpoint> {
  return serve(createServer(), () => {});
}

/** Accepts each connection and answers with a TCP reset: a dependency that drops its connections. */
export function resettingEndpoint(): Promise<FaultEndpoint> {
  return serve(createServer(), (socket) => socket.resetAndDestroy());
}

/** Completes a TLS handshake with `pair` (e.g. a self-signed certificate) and then says nothing. */
export function tlsEndpoint(pair: KeyPair): Promise<FaultEndpoint> {
  return serve(createTlsServer({ key: pair.key, cert: pair.cert }), () => {});
}

/** A port nothing listens on right now: a dependency that is down. */
export async function refusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A PostgreSQL front door that rejects every password, speaking just enough of the wire
 * protocol (StartupMessage, AuthenticationCleartextPassword, ErrorResponse 28P01). The machine's
 * own PostgreSQL trusts loopback clients, so a wrong password cannot be shown against it.
 * `passwords` lists what clients sent, so a test can tell the check really offered one.
 */
export async function pgPasswordRejecter(): Promise<FaultEndpoint & { passwords: string[] }> {
  const passwords: string[] = [];
  const endpoint = await serve(createServer(), (socket) => {
    let buffer = Buffer.alloc(0);
    let user = '';
    let started = false;
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (!started) {
          if (buffer.length < 8) return;
          const length = buffer.readInt32BE(0);
          if (buffer.length < length) return;
          const code = buffer.readInt32BE(4);
          const body = buffer.subarray(8, length);
          buffer = buffer.subarray(length);
          if (code === 80877103) {
            socket.write('N'); // SSLRequest: no TLS here
            continue;
          }
          const fields = body.toString('utf8').split('\0');
          user = fields[fields.indexOf('user') + 1] ?? '';
          started = true;
          socket.write(message('R', int32(3))); // AuthenticationCleartextPassword
          continue;
        }
        if (buffer.length < 5) return;
        const length = buffer.readInt32BE(1);
        if (buffer.length < length + 1) return;
        const type = String.fromCharCode(buffer[0]!);
        const body = buffer.subarray(5, length + 1);
        buffer = buffer.subarray(length + 1);
        if (type !== 'p') continue;
        passwords.push(body.toString('utf8').replace(/\0$/, ''));
        socket.end(
          message(
            'E',
            Buffer.concat([
              field('S', 'FATAL'),
              field('V', 'FATAL'),
              field('C', '28P01'),
              field('M', `password authentication failed for user "${user}"`),
              Buffer.from([0]),
            ]),
          ),
        );
        return;
      }
    });
  });
  return Object.assign(endpoint, { passwords });
}

function int32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeInt32BE(value);
  return out;
}

function message(type: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(type), int32(body.length + 4), body]);
}

function field(code: string, value: string): Buffer {
  return Buffer.from(`${code}${value}\0`, 'utf8');
}
