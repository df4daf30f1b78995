/**
 * What to change when a connection fails for a known misconfiguration: one place maps driver and
 * network errors (pg, mysql2, ioredis, memcache-client, the AWS SDK) to the option to fix, in the
 * words of the thing that failed (`tls: { mode: disable }` for a database, `store.tls` for a
 * session store, the `AWS_ENDPOINT_URL_*` variable for an AWS client). Callers append the hint to
 * their own message and keep the driver's error as `cause`.
 */

/** The known misconfigurations, as seen from the client. */
export type ConnectionFault =
  | 'server-without-tls'
  | 'server-requires-tls'
  | 'refused'
  | 'credentials'
  | 'unknown-database'
  | 'dns'
  | 'no-route'
  | 'timeout'
  | 'untrusted-certificate'
  | 'certificate-name';

/** What was being reached, so the hint can name the option to change. */
export type HintTarget =
  | { kind: 'database'; engine: 'postgres' | 'mysql'; host: string; port: number; user: string }
  | { kind: 'store'; engine: 'redis' | 'memcached'; host: string; port: number; tls: boolean }
  | { kind: 'aws'; service: string };

const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
]);

const CODES: Record<string, ConnectionFault> = {
  HANDSHAKE_NO_SSL_SUPPORT: 'server-without-tls',
  ERR_SSL_WRONG_VERSION_NUMBER: 'server-without-tls',
  ERR_SSL_PACKET_LENGTH_TOO_LONG: 'server-without-tls',
  ER_SECURE_TRANSPORT_REQUIRED: 'server-requires-tls',
  ECONNREFUSED: 'refused',
  '28P01': 'credentials', // PostgreSQL invalid_password
  ER_ACCESS_DENIED_ERROR: 'credentials',
  ER_ACCESS_DENIED_NO_PASSWORD_ERROR: 'credentials',
  '3D000': 'unknown-database', // PostgreSQL invalid_catalog_name
  ER_BAD_DB_ERROR: 'unknown-database',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EHOSTUNREACH: 'no-route',
  ENETUNREACH: 'no-route',
  ETIMEDOUT: 'timeout',
  ERR_TLS_CERT_ALTNAME_INVALID: 'certificate-name',
};

const MESSAGES: Array<[RegExp, ConnectionFault]> = [
  [
    /does not support SSL connections|does not support secure connection|wrong version number/i,
    'server-without-tls',
  ],
  // PostgreSQL 28000: pg_hba.conf admits this client over TLS only (`hostssl`).
  [/no pg_hba\.conf entry .*no encryption/i, 'server-requires-tls'],
  [/insecure transport are prohibited/i, 'server-requires-tls'],
  // PostgreSQL 28000 for an unknown role; Redis for a wrong AUTH.
  [/role "[^"]*" does not exist|WRONGPASS|NOAUTH|invalid password/i, 'credentials'],
  // Codes seen only in the text: an error wrapped by a library that kept its message alone.
  [/\bECONNREFUSED\b/, 'refused'],
  [/\b(ENOTFOUND|EAI_AGAIN)\b/, 'dns'],
  [/\b(EHOSTUNREACH|ENETUNREACH)\b/, 'no-route'],
  [/timed out|ETIMEDOUT/i, 'timeout'],
];

/** Every error along `cause` chains and inside AggregateErrors (Node's happy-eyeballs connects). */
function errorsIn(err: unknown, seen = new Set<unknown>()): Array<{ code?: unknown; message?: unknown }> {
  if (!err || typeof err !== 'object' || seen.has(err)) return [];
  seen.add(err);
  const found = [err as { code?: unknown; message?: unknown }];
  const inner = err as { cause?: unknown; errors?: unknown };
  found.push(...errorsIn(inner.cause, seen));
  if (Array.isArray(inner.errors)) for (const e of inner.errors) found.push(...errorsIn(e, seen));
  return found;
}

/** Which known misconfiguration an error shows, if any. */
export function connectionFault(err: unknown): ConnectionFault | undefined {
  const errors = errorsIn(err);
  for (const e of errors) {
    const code = typeof e.code === 'string' ? e.code : undefined;
    if (code && UNTRUSTED.has(code)) return 'untrusted-certificate';
    if (code && CODES[code]) return CODES[code];
  }
  for (const e of errors) {
    const message = typeof e.message === 'string' ? e.message : '';
    for (const [pattern, fault] of MESSAGES) if (pattern.test(message)) return fault;
  }
  return undefined;
}

/** `AWS_ENDPOINT_URL_<X>` and the interface endpoint's name, per IAM service prefix. */
const AWS_SERVICES: Record<string, { env: string; endpoint: string }> = {
  cloudwatch: { env: 'CLOUDWATCH', endpoint: 'monitoring' },
  codedeploy: { env: 'CODEDEPLOY', endpoint: 'codedeploy' },
  ecs: { env: 'ECS', endpoint: 'ecs' },
  elasticloadbalancing: { env: 'ELASTIC_LOAD_BALANCING_V2', endpoint: 'elasticloadbalancing' },
  // A gateway endpoint, not an interface one: it is added to the subnets' route tables.
  s3: { env: 'S3', endpoint: 's3' },
  secretsmanager: { env: 'SECRETS_MANAGER', endpoint: 'secretsmanager' },
  ssm: { env: 'SSM', endpoint: 'ssm' },
};

/** The endpoint variable the SDK takes an AWS service's endpoint from, when one is set. */
export function awsEndpointVariable(
  service: string,
  env: NodeJS.ProcessEnv = process.env,
): { name: string; origin: string } | undefined {
  const specific = AWS_SERVICES[service] ? `AWS_ENDPOINT_URL_${AWS_SERVICES[service].env}` : undefined;
  for (const name of [specific, 'AWS_ENDPOINT_URL']) {
    const value = name ? env[name] : undefined;
    if (!value) continue;
    let origin: string;
    try {
      origin = new URL(value).origin; // never the user info or path a URL may carry
    } catch {
      origin = 'an invalid URL';
    }
    return { name: name!, origin };
  }
  return undefined;
}

function databaseHint(fault: ConnectionFault, t: Extract<HintTarget, { kind: 'database' }>): string {
  const where = `${t.host}:${t.port}`;
  const defaultPort = t.engine === 'postgres' ? 5432 : 3306;
  switch (fault) {
    case 'server-without-tls':
      return 'the server does not offer TLS: if it is reached over a private network only, set tls: { mode: disable } (or ?sslmode=disable in the url)';
    case 'server-requires-tls':
      return 'the server accepts TLS connections only: remove tls: { mode: disable } (or sslmode=disable from the url)';
    case 'refused':
      return `nothing listens on ${where}: check port (the default is ${defaultPort}) and host, and that the server runs`;
    case 'credentials':
      return `the server refused ${t.user}: check user and password (the database's login, not the app's)`;
    case 'unknown-database':
      return 'check database (the path of the url): the server has no database of that name';
    case 'dns':
      return `${t.host} does not resolve: check host (a hook in a VPC resolves names through the VPC's DNS)`;
    case 'no-route':
      return `no network route to ${t.host}: run the hook in the database's VPC, with a security group the database admits`;
    case 'timeout':
      return `${where} did not answer: a security group or network ACL drops the packets, or the hook runs outside the database's VPC`;
    case 'untrusted-certificate':
      return "the server's certificate is signed by a CA this hook does not trust: give that CA with tls.caFile (on RDS, the global-bundle.pem from https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem)";
    case 'certificate-name':
      return t.engine === 'postgres'
        ? `the server's certificate does not name ${t.host}: connect by a name it carries, or set tls.servername to one`
        : `the server's certificate does not name ${t.host}: connect by a name it carries, or use tls: { mode: verify-ca }`;
  }
}

function storeHint(fault: ConnectionFault, t: Extract<HintTarget, { kind: 'store' }>): string | undefined {
  const where = `${t.host}:${t.port}`;
  switch (fault) {
    case 'server-without-tls':
      return 'the server does not speak TLS: set store.tls: false if in-transit encryption is off on it';
    case 'refused':
      return `nothing listens on ${where}: check store.port (the default is ${t.engine === 'redis' ? 6379 : 11211}) and store.host`;
    case 'credentials':
      return 'the server refused the credentials: check store.username and store.password (the AUTH token)';
    case 'dns':
      return `${t.host} does not resolve: check store.host (a hook in a VPC resolves names through the VPC's DNS)`;
    case 'no-route':
      return `no network route to ${t.host}: run the hook in the store's VPC, with a security group the store admits`;
    case 'timeout':
      // A TLS handshake sent to a store without TLS gets no answer at all.
      return t.tls
        ? `${where} did not answer: if in-transit encryption is off on the store, set store.tls: false; else a security group drops the packets`
        : `${where} did not answer: if the store requires in-transit encryption, set store.tls: true; else a security group drops the packets`;
    case 'untrusted-certificate':
      return "the server's certificate is signed by a CA this hook does not trust: give that CA with store.tls: { caFile }";
    case 'certificate-name':
      return `the server's certificate does not name ${t.host}: connect by a name it carries, or set store.tls: { servername }`;
    default:
      return undefined;
  }
}

function awsHint(fault: ConnectionFault, service: string): string | undefined {
  const variable = awsEndpointVariable(service);
  const network: ConnectionFault[] = ['refused', 'dns', 'no-route', 'timeout', 'server-without-tls'];
  // An endpoint of one's own that answers slowly or not at all is that endpoint's business; one
  // that cannot be reached, or is not what it claims, is usually a wrong variable.
  if (variable && fault === 'timeout') return undefined;
  if (
    variable &&
    (network.includes(fault) || fault === 'untrusted-certificate' || fault === 'certificate-name')
  )
    return `the endpoint comes from ${variable.name}=${variable.origin}: correct it, or unset it to use the AWS endpoint`;
  if (network.includes(fault)) {
    const endpoint = AWS_SERVICES[service]?.endpoint ?? service;
    return `the AWS endpoint is out of reach: a hook in a VPC needs a NAT gateway or the com.amazonaws.<region>.${endpoint} interface endpoint`;
  }
  if (fault === 'untrusted-certificate')
    return 'the endpoint presents a certificate from a CA Node does not trust (a TLS-inspecting proxy?): add that CA with NODE_EXTRA_CA_CERTS';
  return undefined;
}

/** What to change for a failed connection, or undefined when the cause is not a known misconfiguration. */
export function connectionHint(err: unknown, target: HintTarget): string | undefined {
  const fault = connectionFault(err);
  if (!fault) return undefined;
  if (target.kind === 'database') return databaseHint(fault, target);
  if (target.kind === 'store') return storeHint(fault, target);
  return awsHint(fault, target.service);
}

/** `message; hint` when there is a hint, else the message. */
export function withConnectionHint(message: string, err: unknown, target: HintTarget): string {
  const hint = connectionHint(err, target);
  return hint ? `${message}; ${hint}` : message;
}
