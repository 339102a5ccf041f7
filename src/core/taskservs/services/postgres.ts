import { aptInstall, bashScript, defineTaskserv, REQUIRE_APT, say, shQuote, writeFile } from '../definition.js';

interface PostgresConfig {
  version: string;
  port: number;
  listen_addresses: string;
  max_connections: number;
}

/** PostgreSQL from the PostgreSQL project's apt repository (apt.postgresql.org), one major version. */
export const postgres = defineTaskserv<PostgresConfig>({
  name: 'postgres',
  description: 'PostgreSQL server from apt.postgresql.org, one major version, with its listen address, port and connection limit',
  version: '16',
  parameters: {
    type: 'object',
    additionalProperties: false,
    properties: {
      version: { type: 'string', enum: ['13', '14', '15', '16', '17'], default: '16' },
      port: { type: 'integer', minimum: 1024, maximum: 65535, default: 5432 },
      listen_addresses: {
        type: 'string',
        pattern: '^(\\*|[A-Za-z0-9.:-]+(,[A-Za-z0-9.:-]+)*)$',
        default: 'localhost',
        description: "Comma-separated addresses, or * for all (PostgreSQL's listen_addresses)",
      },
      max_connections: { type: 'integer', minimum: 10, maximum: 10000, default: 100 },
    },
  },
  install: (c) => {
    const confDir = `/etc/postgresql/${c.version}/main/conf.d`;
    return bashScript(`postgres ${c.version}: install`, [
      REQUIRE_APT,
      say(`postgres ${c.version}: installing`),
      ...aptInstall(['ca-certificates', 'curl']),
      '. /etc/os-release',
      'install -d /usr/share/postgresql-common/pgdg',
      'curl -fsSL https://www.postgresql.org/media/keys/ACCC4CF8.asc -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc',
      'echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt ${VERSION_CODENAME}-pgdg main" > /etc/apt/sources.list.d/pgdg.list',
      'apt-get update -qq',
      `apt-get install -y -qq postgresql-${c.version}`,
      `mkdir -p ${shQuote(confDir)}`,
      // The cluster's postgresql.conf includes conf.d, so the package's own file stays untouched.
      writeFile(`${confDir}/50-engine.conf`, [`listen_addresses = '${c.listen_addresses}'`, `port = ${c.port}`, `max_connections = ${c.max_connections}`]),
      'systemctl enable postgresql',
      `systemctl restart ${shQuote(`postgresql@${c.version}-main`)}`,
      say(`postgres ${c.version}: running on port ${c.port}`),
    ]);
  },
  remove: (c) =>
    bashScript(`postgres ${c.version}: remove`, [
      say(`postgres ${c.version}: stopping and removing`),
      `if dpkg -s ${shQuote(`postgresql-${c.version}`)} >/dev/null 2>&1; then`,
      `  systemctl stop ${shQuote(`postgresql@${c.version}-main`)} || true`,
      // remove, not purge: the databases under /var/lib/postgresql stay.
      `  apt-get remove -y -qq ${shQuote(`postgresql-${c.version}`)}`,
      'fi',
      `rm -f ${shQuote(`/etc/postgresql/${c.version}/main/conf.d/50-engine.conf`)} /etc/apt/sources.list.d/pgdg.list`,
      say(`postgres ${c.version}: removed (databases under /var/lib/postgresql/${c.version} are kept)`),
    ]),
});
