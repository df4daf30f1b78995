import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import cookieSession from 'cookie-session';
import expressSession from 'express-session';

const SCRIPTS = join(__dirname, '..', 'frameworks');

/** How each real framework runs here, and the Debian package that brings it (CI installs them). */
const RUNNERS = {
  flask: { command: '/usr/bin/python3', script: 'flask_session.py', pkg: 'python3-flask' },
  django: { command: '/usr/bin/python3', script: 'django_session.py', pkg: 'python3-django' },
  rails: { command: 'ruby', script: 'rails_session.rb', pkg: 'ruby-railties ruby-actionpack' },
  php: { command: 'php', script: 'php_session.php', pkg: 'php-cli' },
} as const;

export type ScriptFramework = keyof typeof RUNNERS;

/**
 * Runs a framework's script with `input` as JSON on stdin and returns its JSON output. A missing
 * framework fails the test with the package to install, never skips it.
 */
export function runFramework<T = Record<string, unknown>>(
  framework: ScriptFramework,
  input: Record<string, unknown>,
): Promise<T> {
  const { command, script, pkg } = RUNNERS[framework];
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      [join(SCRIPTS, script)],
      { timeout: 30_000, maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        if (err) {
          const missing =
            (err as NodeJS.ErrnoException).code === 'ENOENT' ||
            /ModuleNotFoundError|cannot load such file|LoadError/.test(stderr);
          return reject(
            new Error(
              missing
                ? `${framework} is not installed here: apt-get install -y ${pkg} (.ci/run installs it)\n${stderr}`
                : `${script} failed: ${err.message}\n${stderr}`,
            ),
          );
        }
        try {
          resolve(JSON.parse(stdout) as T);
        } catch {
          reject(new Error(`${script} printed no JSON: ${stdout.slice(0, 200)}\n${stderr}`));
        }
      },
    );
    child.stdin!.end(JSON.stringify(input));
  });
}

/** A real HTTP server on loopback; `url` is its base. */
export interface Listener {
  url: string;
  close(): Promise<void>;
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Listener> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A listener answering every request with the `Set-Cookie` headers a framework produced. */
export function cookieListener(setCookie: readonly string[]): Promise<Listener> {
  return listen((_req, res) => {
    res.setHeader('Set-Cookie', [...setCookie]);
    res.end('ok');
  });
}

/** An app behind express-session (the npm package), logging every visitor in. */
export function expressSessionApp(secrets: string[], payload: Record<string, unknown>): Promise<Listener> {
  const middleware = expressSession({ secret: secrets, resave: false, saveUninitialized: false });
  return listen((req, res) => {
    middleware(req as never, res as never, () => {
      Object.assign((req as unknown as { session: Record<string, unknown> }).session, payload);
      res.end('ok');
    });
  });
}

/** An app behind cookie-session (the npm package, Keygrip signatures), logging every visitor in. */
export function cookieSessionApp(keys: string[], payload: Record<string, unknown>): Promise<Listener> {
  const middleware = cookieSession({ name: 'session', keys });
  return listen((req, res) => {
    middleware(req as never, res as never, () => {
      Object.assign((req as unknown as { session: Record<string, unknown> }).session, payload);
      res.end('ok');
    });
  });
}
