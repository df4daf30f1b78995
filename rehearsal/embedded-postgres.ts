import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';
import { defaultPgliteCacheFile, openPglite } from '../checks/schema/shadow-database';

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 196608;
const TERMINATE = 0x58; // 'X'
/** A client that holds the database and says nothing for this long is cut off, so the apps never stall. */
const IDLE_CLIENT_MS = 10_000;
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** An embedded PostgreSQL (PGlite, in WebAssembly) that `pg` clients reach over loopback TCP. */
export interface EmbeddedPostgres {
  db: PGlite;
  /** `postgres://postgres@127.0.0.1:PORT/postgres` */
  url: string;
  host: string;
  port: number;
  stop(): Promise<void>;
}

function simpleQuery(sql: string): Uint8Array {
  const text = Buffer.from(`${sql}\0`, 'utf8');
  const message = Buffer.alloc(5 + text.length);
  message.write('Q', 0, 'latin1');
  message.writeInt32BE(4 + text.length, 1);
  text.copy(message, 5);
  return new Uint8Array(message);
}

/**
 * Starts PGlite and a loopback server that bridges the PostgreSQL wire protocol to it. PGlite is
 * a single backend, so a network client gets it exclusively for the life of its connection
 * (other clients and the in-process apps wait), and its session is reset when it leaves: a
 * read-only or time-limited session opened by a check never leaks into the apps' queries.
 */
export async function startEmbeddedPostgres(
  options: { cacheFile?: string | false } = {},
): Promise<EmbeddedPostgres> {
  const db = await openPglite(options.cacheFile === undefined ? defaultPgliteCacheFile() : options.cacheFile);
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => bridge(db, socket, sockets));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    db,
    host: '127.0.0.1',
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await db.close();
    },
  };
}

function bridge(db: PGlite, socket: Socket, sockets: Set<Socket>): void {
  sockets.add(socket);
  socket.setNoDelay(true);
  socket.setTimeout(IDLE_CLIENT_MS, () => socket.destroy());
  let buffer = Buffer.alloc(0);
  let started = false;
  let closed = false;
  let release: (() => void) | undefined;
  let owned: Promise<void> | undefined;
  let work: Promise<void> = Promise.resolve();

  // Take the backend only once a real session starts (an SSL probe needs no lock).
  const own = () => {
    owned ??= new Promise<void>((held) => {
      void db.runExclusive(
        () =>
          new Promise<void>((done) => {
            release = done;
            held();
          }),
      );
    });
    return owned;
  };

  const pump = async () => {
    for (;;) {
      if (closed) return;
      if (!started) {
        if (buffer.length < 8) return;
        const length = buffer.readInt32BE(0);
        if (length < 8 || length > 10_000) return void socket.destroy();
        if (buffer.length < length) return;
        const code = buffer.readInt32BE(4);
        const message = buffer.subarray(0, length);
        buffer = buffer.subarray(length);
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          socket.write('N'); // no TLS on loopback: the client goes on in clear text, as with sslmode=prefer
          continue;
        }
        if (code === CANCEL_REQUEST || code !== PROTOCOL_3) return void socket.destroy();
        await own();
        if (closed) return;
        started = true;
        socket.write(await db.execProtocolRaw(new Uint8Array(message)));
        continue;
      }
      let end = 0;
      while (buffer.length - end >= 5) {
        const length = buffer.readInt32BE(end + 1);
        if (length < 4 || length > MAX_MESSAGE_BYTES) return void socket.destroy();
        if (buffer.length - end < 1 + length) break;
        if (buffer[end] === TERMINATE) {
          buffer = Buffer.alloc(0);
          socket.end();
          return;
        }
        end += 1 + length;
      }
      if (end === 0) return;
      const messages = buffer.subarray(0, end);
      buffer = buffer.subarray(end);
      const reply = await db.execProtocolRaw(new Uint8Array(messages));
      if (reply.length && !socket.destroyed) socket.write(reply);
    }
  };

  socket.on('data', (chunk) => {
    buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
    work = work.then(pump).catch(() => {
      socket.destroy();
    });
  });
  socket.on('error', () => socket.destroy());
  socket.on('close', () => {
    closed = true;
    sockets.delete(socket);
    work = work.then(async () => {
      if (!owned) return;
      await owned;
      try {
        if (started) {
          await db.execProtocolRaw(simpleQuery('ROLLBACK'));
          await db.execProtocolRaw(simpleQuery('DISCARD ALL'));
        }
      } finally {
        release?.();
      }
    });
  });
}
