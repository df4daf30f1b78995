import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Color = 'blue' | 'green';
export type ListenerName = 'prod' | 'test';
export type Weights = Record<Color, number>;

const UPSTREAM_TIMEOUT_MS = 5_000;

interface Listener {
  server: Server;
  weights: Weights;
  /** Smooth weighted round robin state (deterministic, unlike a coin toss per request). */
  current: Weights;
  served: Weights;
}

/**
 * The rehearsal's Application Load Balancer: a production and a test listener on loopback, each
 * forwarding to the blue and green target groups by weight, like the listener rules CodeDeploy
 * rewrites during an ECS blue/green deployment. A target group without a running task answers
 * 503; an unreachable or slow task 502/504.
 */
export class LocalLoadBalancer {
  private readonly targets: Partial<Record<Color, URL>> = {};
  private readonly listeners = new Map<ListenerName, Listener>();

  async start(): Promise<Record<ListenerName, URL>> {
    for (const name of ['prod', 'test'] as const) {
      const listener: Listener = {
        server: createServer((req, res) => this.forward(listener, req, res)),
        weights: { blue: 100, green: 0 },
        current: { blue: 0, green: 0 },
        served: { blue: 0, green: 0 },
      };
      listener.server.keepAliveTimeout = 1_000;
      await new Promise<void>((resolve) => listener.server.listen(0, '127.0.0.1', resolve));
      this.listeners.set(name, listener);
    }
    return { prod: this.url('prod'), test: this.url('test') };
  }

  url(name: ListenerName): URL {
    const { port } = this.listener(name).server.address() as AddressInfo;
    return new URL(`http://127.0.0.1:${port}`);
  }

  /** Registers (or with undefined, deregisters) the task behind a target group. */
  setTarget(color: Color, url: URL | undefined): void {
    if (url) this.targets[color] = url;
    else delete this.targets[color];
  }

  target(color: Color): URL | undefined {
    return this.targets[color];
  }

  setWeights(name: ListenerName, weights: Weights): void {
    const listener = this.listener(name);
    listener.weights = { ...weights };
    listener.current = { blue: 0, green: 0 };
  }

  weights(name: ListenerName): Weights {
    return { ...this.listener(name).weights };
  }

  /** Requests forwarded per target group since the last call. */
  takeServed(name: ListenerName): Weights {
    const listener = this.listener(name);
    const served = listener.served;
    listener.served = { blue: 0, green: 0 };
    return served;
  }

  async stop(): Promise<void> {
    for (const { server } of this.listeners.values()) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    this.listeners.clear();
  }

  private listener(name: ListenerName): Listener {
    const listener = this.listeners.get(name);
    if (!listener) throw new Error(`the ${name} listener is not started`);
    return listener;
  }

  private pick(listener: Listener): Color | undefined {
    const total = listener.weights.blue + listener.weights.green;
    if (total <= 0) return undefined;
    let best: Color | undefined;
    for (const color of ['blue', 'green'] as const) {
      listener.current[color] += listener.weights[color];
      if (listener.weights[color] > 0 && (!best || listener.current[color] > listener.current[best]))
        best = color;
    }
    if (best) listener.current[best] -= total;
    return best;
  }

  private forward(listener: Listener, req: IncomingMessage, res: ServerResponse): void {
    const color = this.pick(listener);
    const target = color ? this.targets[color] : undefined;
    const fail = (status: number, message: string) => {
      if (res.headersSent) return void res.destroy();
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(`${status} ${message}\n`);
    };
    if (!color || !target) return fail(503, 'Service Temporarily Unavailable');
    listener.served[color]++;
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: {
          ...req.headers,
          'x-forwarded-for': req.socket.remoteAddress ?? '',
          'x-forwarded-proto': 'http',
        },
        timeout: UPSTREAM_TIMEOUT_MS,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('timeout', () => {
      upstream.destroy();
      fail(504, 'Gateway Time-out');
    });
    upstream.on('error', () => fail(502, 'Bad Gateway'));
    req.pipe(upstream);
  }
}
