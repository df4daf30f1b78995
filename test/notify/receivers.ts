import type { ServerResponse } from 'node:http';
import { startHttpServer, type SeenRequest, type TestServer } from '../support/http-servers';

/** A loopback webhook receiver that records what it gets and answers as told. */
export interface Receiver extends TestServer {
  /** Resolves with the first request (at once if it has arrived). */
  firstRequest(): Promise<SeenRequest>;
  /** Resolves when a request left unanswered (`hang`) is abandoned by the sender. */
  abandoned(): Promise<void>;
  /** Requests still waiting for an answer. */
  open(): number;
}

export async function startReceiver(answer: 'ok' | 500 | 'hang'): Promise<Receiver> {
  let arrived: (request: SeenRequest) => void = () => {};
  const first = new Promise<SeenRequest>((resolve) => (arrived = resolve));
  let gone: () => void = () => {};
  const abandoned = new Promise<void>((resolve) => (gone = resolve));
  const waiting = new Set<ServerResponse>();
  const server = await startHttpServer((req, res) => {
    arrived(server.requests[server.requests.length - 1]!);
    if (answer === 'hang') {
      waiting.add(res);
      res.on('close', () => {
        waiting.delete(res);
        gone();
      });
      return;
    }
    if (answer === 500) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  });
  return { ...server, firstRequest: () => first, abandoned: () => abandoned, open: () => waiting.size };
}
