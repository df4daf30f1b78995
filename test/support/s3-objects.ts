import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback S3 that serves GetObject for objects put into it, path-style (`GET /bucket/key`),
 * with an ETag and a 304 for a matching `If-None-Match`, and counts what it was asked per key:
 * enough for the platform benchmark to count config reads, which moto cannot tell.
 */
export class S3Objects {
  private readonly objects = new Map<string, { body: string; etag: string }>();
  /** Per `bucket/key`: GETs answered with a body, and GETs answered 304. */
  readonly reads = new Map<string, { full: number; notModified: number }>();
  private server: Server | undefined;
  url = '';

  put(bucket: string, key: string, body: string): void {
    const etag = `"${createHash('md5').update(body).digest('hex')}"`;
    this.objects.set(`${bucket}/${key}`, { body, etag });
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://s3').pathname.slice(1));
      const object = this.objects.get(path);
      const count = this.reads.get(path) ?? { full: 0, notModified: 0 };
      this.reads.set(path, count);
      if (req.method !== 'GET' || !object) {
        const xml = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>`;
        res.writeHead(404, { 'content-type': 'application/xml' }).end(xml);
        return;
      }
      if (req.headers['if-none-match'] === object.etag) {
        count.notModified++;
        res.writeHead(304, { etag: object.etag }).end();
        return;
      }
      count.full++;
      res.writeHead(200, { etag: object.etag, 'content-type': 'application/yaml' }).end(object.body);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
