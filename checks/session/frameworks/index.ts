import { cookieSession } from './cookie-session';
import { django } from './django';
import { expressSession } from './express-session';
import { flask } from './flask';
import type { CookieFramework } from './framework';
import { rails } from './rails';
import { spring } from './spring';

/** The session frameworks whose cookies greenlight verifies, by config name. */
export const cookieFrameworks: Readonly<Record<string, CookieFramework>> = {
  'express-session': expressSession,
  'cookie-session': cookieSession,
  rails,
  django,
  flask,
  spring,
};

export const FRAMEWORK_NAMES = Object.keys(cookieFrameworks) as [string, ...string[]];
