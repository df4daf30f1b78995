import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/** What the embedded store answers with: RESP2 values. */
type Reply = { simple: string } | { error: string } | number | string | null | Reply[];

interface Entry {
  value: string;
  /** Epoch ms; undefined = no expiry. */
  expiresAt?: number;
}

const MAX_REQUEST_BYTES = 8 * 1024 * 1024; // a hostile client cannot grow a buffer without bound

/** Redis glob (`*`, `?`, `[abc]`, `[^a]`, `\x`) as a RegExp. */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') out += '[\\s\\S]*';
    else if (c === '?') out += '[\\s\\S]';
    else if (c === '\\' && i + 1 < glob.length) out += glob[++i]!.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end === -1) out += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
        out += `[${body.startsWith('^') ? '^' + body.slice(1) : body}]`;
        i = end;
      }
    } else out += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

/**
 * The rehearsal's session store: an in-process key-value store on loopback that speaks enough
 * of the Redis protocol (RESP2) for the sample app (ioredis) and the `session` check: PING,
 * AUTH, HELLO 2, SELECT, CLIENT, GET, SET with EX/PX/NX/XX, DEL, EXISTS, TYPE, PTTL, TTL,
 * EXPIRE, SCAN with MATCH/COUNT, DBSIZE, INFO (server, memory, stats, keyspace), QUIT. It is a
 * stand-in for a Redis server so the rehearsal needs nothing installed, not a Redis.
 */
export class SessionStoreServer {
  private readonly data = new Map<string, Entry>();
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  private commandsProcessed = 0;

  constructor(private readonly options: { password?: string } = {}) {}

  async start(): Promise<{ host: string; port: number }> {
    this.server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return { host: '127.0.0.1', port: this.port };
  }

  get port(): number {
    return (this.server!.address() as AddressInfo).port;
  }

  /** Keys currently stored (expired ones dropped), for the timeline and tests. */
  keys(prefix = ''): string[] {
    return [...this.data.keys()].filter((k) => k.startsWith(prefix) && this.live(k));
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    if (!this.server) return;
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  private live(key: string): Entry | undefined {
    const entry = this.data.get(key);
    if (entry?.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      this.data.delete(key);
      return undefined;
    }
    return entry;
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    let buffer = Buffer.alloc(0);
    let authed = !this.options.password;
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk) => {
      buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
      if (buffer.length > MAX_REQUEST_BYTES) {
        socket.end(encode({ error: 'ERR request too large' }));
        return;
      }
      let out = '';
      for (;;) {
        const parsed = parseCommand(buffer);
        if (parsed === undefined) break;
        if ('protocolError' in parsed) {
          socket.end(encode({ error: `ERR Protocol error: ${parsed.protocolError}` }));
          return;
        }
        buffer = buffer.subarray(parsed.used);
        if (parsed.args.length === 0) continue;
        const name = parsed.args[0]!.toUpperCase();
        if (name === 'QUIT') {
          socket.end(out + encode({ simple: 'OK' }));
          return;
        }
        if (name === 'AUTH') {
          const password = parsed.args[parsed.args.length - 1];
          authed = !this.options.password || password === this.options.password;
          out += encode(
            authed
              ? { simple: 'OK' }
              : { error: 'WRONGPASS invalid username-password pair or user is disabled.' },
          );
          continue;
        }
        if (!authed && name !== 'HELLO' && name !== 'PING') {
          out += encode({ error: 'NOAUTH Authentication required.' });
          continue;
        }
        this.commandsProcessed++;
        out += encode(this.execute(name, parsed.args.slice(1)));
      }
      if (out) socket.write(out);
    });
  }

  private execute(name: string, args: string[]): Reply {
    const wrongArgs = { error: `ERR wrong number of arguments for '${name.toLowerCase()}' command` };
    switch (name) {
      case 'PING':
        return args[0] ?? { simple: 'PONG' };
      case 'HELLO':
        if (args[0] && args[0] !== '2') return { error: 'NOPROTO unsupported protocol version' };
        return [
          'server',
          'greenlight-rehearsal',
          'version',
          '7.2.0',
          'proto',
          2,
          'mode',
          'standalone',
          'role',
          'master',
        ];
      case 'SELECT':
        return args[0] === '0' ? { simple: 'OK' } : { error: 'ERR DB index is out of range' };
      case 'CLIENT':
        return { simple: 'OK' };
      case 'GET': {
        if (args.length !== 1) return wrongArgs;
        return this.live(args[0]!)?.value ?? null;
      }
      case 'SET':
        return this.set(args);
      case 'DEL':
      case 'UNLINK':
        return args.filter((k) => this.live(k) && this.data.delete(k)).length;
      case 'EXISTS':
        return args.filter((k) => this.live(k)).length;
      case 'TYPE':
        return { simple: args[0] && this.live(args[0]) ? 'string' : 'none' };
      case 'PTTL':
      case 'TTL': {
        const entry = args[0] ? this.live(args[0]) : undefined;
        if (!entry) return -2;
        if (entry.expiresAt === undefined) return -1;
        const ms = entry.expiresAt - Date.now();
        return name === 'PTTL' ? ms : Math.ceil(ms / 1_000);
      }
      case 'EXPIRE':
      case 'PEXPIRE': {
        const entry = args[0] ? this.live(args[0]) : undefined;
        const amount = Number(args[1]);
        if (!Number.isInteger(amount)) return { error: 'ERR value is not an integer or out of range' };
        if (!entry) return 0;
        entry.expiresAt = Date.now() + (name === 'EXPIRE' ? amount * 1_000 : amount);
        return 1;
      }
      case 'SCAN':
        return this.scan(args);
      case 'DBSIZE':
        return this.keys().length;
      case 'INFO':
        return this.info();
      default:
        return {
          error: `ERR unknown command '${name.toLowerCase()}', with args beginning with: ${args
            .slice(0, 2)
            .map((a) => `'${a}'`)
            .join(' ')}`,
        };
    }
  }

  private set(args: string[]): Reply {
    const [key, value, ...flags] = args;
    if (key === undefined || value === undefined)
      return { error: "ERR wrong number of arguments for 'set' command" };
    let expiresAt: number | undefined;
    let onlyIfAbsent = false;
    let onlyIfPresent = false;
    for (let i = 0; i < flags.length; i++) {
      const flag = flags[i]!.toUpperCase();
      if (flag === 'NX') onlyIfAbsent = true;
      else if (flag === 'XX') onlyIfPresent = true;
      else if (flag === 'EX' || flag === 'PX') {
        const amount = Number(flags[++i]);
        if (!Number.isInteger(amount) || amount <= 0)
          return { error: "ERR invalid expire time in 'set' command" };
        expiresAt = Date.now() + (flag === 'EX' ? amount * 1_000 : amount);
      } else return { error: 'ERR syntax error' };
    }
    const exists = this.live(key) !== undefined;
    if ((onlyIfAbsent && exists) || (onlyIfPresent && !exists)) return null;
    this.data.set(key, expiresAt === undefined ? { value } : { value, expiresAt });
    return { simple: 'OK' };
  }

  /** The cursor is an offset into a snapshot of the key order; good enough for a single in-process node. */
  private scan(args: string[]): Reply {
    const cursor = Number(args[0]);
    if (!Number.isInteger(cursor) || cursor < 0) return { error: 'ERR invalid cursor' };
    let match: RegExp | undefined;
    let count = 10;
    for (let i = 1; i < args.length; i++) {
      const option = args[i]!.toUpperCase();
      if (option === 'MATCH') match = globToRegExp(args[++i] ?? '*');
      else if (option === 'COUNT') {
        count = Number(args[++i]);
        if (!Number.isInteger(count) || count < 1) return { error: 'ERR syntax error' };
      } else if (option === 'TYPE') i++;
      else return { error: 'ERR syntax error' };
    }
    const all = [...this.data.keys()];
    const slice = all.slice(cursor, cursor + count).filter((k) => this.live(k) && (!match || match.test(k)));
    const next = cursor + count >= all.length ? 0 : cursor + count;
    return [String(next), slice];
  }

  private info(): string {
    const used = [...this.data].reduce((sum, [k, e]) => sum + k.length + e.value.length, 0);
    return [
      '# Server',
      'redis_version:7.2.0',
      'redis_mode:standalone',
      'greenlight_rehearsal:1',
      '',
      '# Memory',
      `used_memory:${used}`,
      'maxmemory:0',
      'maxmemory_policy:volatile-lru',
      '',
      '# Stats',
      `total_commands_processed:${this.commandsProcessed}`,
      'evicted_keys:0',
      'expired_keys:0',
      '',
      '# Keyspace',
      `db0:keys=${this.keys().length},expires=0,avg_ttl=0`,
      '',
    ].join('\r\n');
  }
}

function encode(reply: Reply): string {
  if (reply === null) return '$-1\r\n';
  if (typeof reply === 'number') return `:${reply}\r\n`;
  if (typeof reply === 'string') return `$${Buffer.byteLength(reply)}\r\n${reply}\r\n`;
  if (Array.isArray(reply)) return `*${reply.length}\r\n${reply.map(encode).join('')}`;
  if ('simple' in reply) return `+${reply.simple}\r\n`;
  return `-${reply.error.replace(/[\r\n]/g, ' ')}\r\n`;
}

type Parsed = { args: string[]; used: number } | { protocolError: string } | undefined;

/** One command from the buffer: a RESP array of bulk strings, or an inline command line. */
function parseCommand(buffer: Buffer): Parsed {
  if (buffer.length === 0) return undefined;
  const lineEnd = buffer.indexOf('\r\n');
  if (lineEnd === -1)
    return buffer.length > 64 * 1024 ? { protocolError: 'too big inline request' } : undefined;
  if (buffer[0] !== 0x2a /* '*' */) {
    const args = buffer.subarray(0, lineEnd).toString('utf8').trim().split(/\s+/).filter(Boolean);
    return { args, used: lineEnd + 2 };
  }
  const count = Number(buffer.subarray(1, lineEnd).toString('latin1'));
  if (!Number.isInteger(count) || count < 0 || count > 1_000_000)
    return { protocolError: 'invalid multibulk length' };
  let offset = lineEnd + 2;
  const args: string[] = [];
  for (let i = 0; i < count; i++) {
    if (offset >= buffer.length) return undefined;
    if (buffer[offset] !== 0x24 /* '$' */)
      return { protocolError: `expected '$', got '${String.fromCharCode(buffer[offset]!)}'` };
    const end = buffer.indexOf('\r\n', offset);
    if (end === -1) return undefined;
    const length = Number(buffer.subarray(offset + 1, end).toString('latin1'));
    if (!Number.isInteger(length) || length < 0 || length > MAX_REQUEST_BYTES)
      return { protocolError: 'invalid bulk length' };
    const start = end + 2;
    if (buffer.length < start + length + 2) return undefined;
    args.push(buffer.subarray(start, start + length).toString('utf8'));
    offset = start + length + 2;
  }
  return { args, used: offset };
}
