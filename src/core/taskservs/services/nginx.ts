import { aptInstall, bashScript, defineTaskserv, REQUIRE_APT, resolvePackageVersion, say, writeFile } from '../definition.js';

interface NginxConfig {
  version: string;
  worker_processes: string;
  server_tokens: boolean;
}

/** nginx from nginx.org's apt repository (stable branch), held at one version. */
export const nginx = defineTaskserv<NginxConfig>({
  name: 'nginx',
  description: "nginx web server from nginx.org's apt repository, held at one version",
  version: '1.26.2',
  parameters: {
    type: 'object',
    additionalProperties: false,
    properties: {
      version: { type: 'string', pattern: '^1\\.[0-9]{1,2}\\.[0-9]{1,2}$', default: '1.26.2', example: '1.26.2' },
      worker_processes: { type: 'string', pattern: '^(auto|[1-9][0-9]{0,2})$', default: 'auto' },
      server_tokens: { type: 'boolean', default: false, description: 'Show the nginx version in error pages and headers' },
    },
  },
  install: (c) =>
    bashScript(`nginx ${c.version}: install`, [
      REQUIRE_APT,
      say(`nginx ${c.version}: installing`),
      ...aptInstall(['ca-certificates', 'curl', 'gnupg2']),
      '. /etc/os-release',
      'install -m 0755 -d /etc/apt/keyrings',
      'curl -fsSL https://nginx.org/keys/nginx_signing.key | gpg --dearmor --yes -o /etc/apt/keyrings/nginx.gpg',
      'echo "deb [signed-by=/etc/apt/keyrings/nginx.gpg] https://nginx.org/packages/${ID} ${VERSION_CODENAME} nginx" > /etc/apt/sources.list.d/nginx.list',
      'apt-get update -qq',
      ...resolvePackageVersion('PKG_VERSION', 'nginx', c.version),
      'apt-get install -y -qq --allow-downgrades --allow-change-held-packages "nginx=${PKG_VERSION}"',
      'apt-mark hold nginx >/dev/null',
      `sed -i 's/^worker_processes .*/worker_processes ${c.worker_processes};/' /etc/nginx/nginx.conf`,
      writeFile('/etc/nginx/conf.d/00-engine.conf', [`server_tokens ${c.server_tokens ? 'on' : 'off'};`]),
      'nginx -t',
      'systemctl enable nginx',
      'systemctl restart nginx',
      say(`nginx ${c.version}: running`),
    ]),
  remove: (c) =>
    bashScript(`nginx ${c.version}: remove`, [
      say('nginx: stopping and removing'),
      'if dpkg -s nginx >/dev/null 2>&1; then',
      '  systemctl disable --now nginx 2>/dev/null || true',
      '  apt-mark unhold nginx >/dev/null',
      '  apt-get purge -y -qq nginx',
      'fi',
      'rm -f /etc/apt/sources.list.d/nginx.list /etc/apt/keyrings/nginx.gpg /etc/nginx/conf.d/00-engine.conf',
      say('nginx: removed'),
    ]),
});
