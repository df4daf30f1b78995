import { z } from 'zod';

export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** An http(s) base URL, e.g. the ALB test listener `http://internal-alb:8080`. */
export const httpUrl = z.string().refine(isHttpUrl, { error: 'expected an http(s) URL' });
