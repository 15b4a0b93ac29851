// Writes the development provider's configuration for a local run, once per checkout: a client
// per role with a random secret (no secret is ever written into the repository), and the file the
// command-line client reads to act as a role.
//
// Usage: node init.js DIR PORT
//   DIR/config.json  the provider's configuration (server.js DIR/config.json)
//   DIR/cli.json     {issuer, clients: {role: secret}} for `borgerraad --as ROLE`
//   DIR/<client>.secret  each client's secret, for the services' AUTH_CLIENT_SECRET_FILE

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, port] = process.argv.slice(2);
if (!dir || !port) {
  console.error('usage: node init.js DIR PORT');
  process.exit(2);
}
mkdirSync(dir, { recursive: true, mode: 0o700 });
const issuer = `http://127.0.0.1:${port}`;
const configPath = join(dir, 'config.json');

// Secrets survive a restart, so cached tokens and running scripts keep working; the port may move.
const previous = existsSync(configPath) ? JSON.parse(readFileSync(configPath, 'utf8')) : { clients: [] };
const secretOf = (id) =>
  previous.clients.find((client) => client.client_id === id)?.client_secret ?? randomBytes(32).toString('base64url');

const roles = ['web-form', 'caseworker', 'department-system', 'report-reader', 'operator', 'eligibility', 'deadline-monitoring'];
const clients = roles.map((role) => ({
  client_id: role,
  client_secret: secretOf(role),
  roles: [role],
  // A department system asks for the department it acts for (`--department`).
  departments: role === 'department-system' ? ['*'] : [],
}));

const write = (name, value) => writeFileSync(join(dir, name), value, { mode: 0o600 });
write('config.json', JSON.stringify({ port: Number(port), issuer, audience: 'borgerraad', token_ttl_seconds: 900, clients }, null, 2));
write('cli.json', JSON.stringify({ issuer, clients: Object.fromEntries(clients.map((c) => [c.client_id, c.client_secret])) }, null, 2));
for (const client of clients) write(`${client.client_id}.secret`, client.client_secret);
