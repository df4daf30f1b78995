import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectionOptions, resolveConnection, tlsConnectOptions } from '../checks/schema/connection';
import { storeOptionsSchema, tlsOptionsFor } from '../checks/session/store';
import { z } from 'zod';
import { configError } from './http/run-http-check';

const dir = mkdtempSync(join(tmpdir(), 'greenlight-tls-'));
const caFile = join(dir, 'ca.pem');
writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\nFILE\n-----END CERTIFICATE-----\n');
const database = z.strictObject(connectionOptions);

describe('one TLS options schema for http, databases and session stores', () => {
  it('refuses two different names to verify, naming the field', () => {
    expect(configError({ tls: { serverName: 'a.example.test', servername: 'b.example.test' } })).toMatch(
      /checks\.smoke\.tls\.serverName: serverName and servername name two different hosts/,
    );
  });

  it('refuses an unknown TLS option in each of them', () => {
    expect(configError({ tls: { verify: false } })).toMatch(/tls/);
    expect(database.safeParse({ url: 'postgres://u@db:5432/d', tls: { verify: false } }).success).toBe(false);
    expect(
      storeOptionsSchema.safeParse({ engine: 'redis', host: 'cache', tls: { verify: false } }).success,
    ).toBe(false);
  });

  it('takes serverName, or the older servername, as the name a database certificate must carry', async () => {
    for (const tls of [{ serverName: 'db.example.test' }, { servername: 'db.example.test' }]) {
      const settings = resolveConnection(database.parse({ url: 'postgres://u@10.0.0.5:5432/d', tls }));
      if ('field' in settings) throw new Error(settings.message);
      expect(await tlsConnectOptions(settings)).toMatchObject({
        rejectUnauthorized: true,
        servername: 'db.example.test',
      });
    }
  });

  it('trusts ca and the contents of caFile together, and names an unreadable caFile', async () => {
    const store = storeOptionsSchema.parse({
      engine: 'redis',
      host: '10.0.0.7',
      tls: { ca: 'INLINE', caFile },
    });
    const options = await tlsOptionsFor(store);
    expect(options?.ca).toBe(`INLINE\n-----BEGIN CERTIFICATE-----\nFILE\n-----END CERTIFICATE-----\n`);
    // An IP address is verified against the certificate's IP entries: no SNI name is sent.
    expect(options?.servername).toBeUndefined();
    const missing = storeOptionsSchema.parse({
      engine: 'redis',
      host: 'cache',
      tls: { caFile: join(dir, 'gone.pem') },
    });
    await expect(tlsOptionsFor(missing)).rejects.toThrow(
      `cannot read tls.caFile ${join(dir, 'gone.pem')}: ENOENT`,
    );
  });
});
