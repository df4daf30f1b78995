import type { ConnectionSettings, DbSession } from './connection';

/** Opens a read-only, bounded session on either engine; the driver is loaded only now. */
export async function openSession(settings: ConnectionSettings, signal: AbortSignal): Promise<DbSession> {
  if (settings.engine === 'postgres') {
    const { openPostgres } = await import('./postgres');
    return openPostgres(settings, signal);
  }
  const { openMysql } = await import('./mysql');
  return openMysql(settings, signal);
}
