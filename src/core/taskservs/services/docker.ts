import { aptInstall, bashScript, defineTaskserv, REQUIRE_APT, resolvePackageVersion, say, shQuote, writeFile } from '../definition.js';

interface DockerConfig {
  version: string;
  log_max_size: string;
}

/** Docker Engine from Docker's own apt repository, pinned to one version. */
export const docker = defineTaskserv<DockerConfig>({
  name: 'docker',
  description: "Docker Engine (docker-ce, CLI, buildx and compose plugins) from Docker's apt repository, held at one version",
  version: '27.3.1',
  parameters: {
    type: 'object',
    additionalProperties: false,
    properties: {
      version: { type: 'string', pattern: '^[0-9]{2}\\.[0-9]{1,2}\\.[0-9]{1,2}$', default: '27.3.1', example: '27.3.1' },
      log_max_size: { type: 'string', pattern: '^[1-9][0-9]{0,3}[kmg]$', default: '10m', description: 'Size at which container logs rotate' },
    },
  },
  install: (c) =>
    bashScript(`docker ${c.version}: install`, [
      REQUIRE_APT,
      say(`docker ${c.version}: installing`),
      ...aptInstall(['ca-certificates', 'curl']),
      '. /etc/os-release',
      'install -m 0755 -d /etc/apt/keyrings',
      'curl -fsSL "https://download.docker.com/linux/${ID}/gpg" -o /etc/apt/keyrings/docker.asc',
      'chmod a+r /etc/apt/keyrings/docker.asc',
      'echo "deb [arch=$(dpkg --print-architecture) signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/${ID} ${VERSION_CODENAME} stable" > /etc/apt/sources.list.d/docker.list',
      'apt-get update -qq',
      ...resolvePackageVersion('PKG_VERSION', 'docker-ce', c.version, '5:'),
      'apt-get install -y -qq --allow-downgrades --allow-change-held-packages "docker-ce=${PKG_VERSION}" "docker-ce-cli=${PKG_VERSION}" containerd.io docker-buildx-plugin docker-compose-plugin',
      'apt-mark hold docker-ce docker-ce-cli >/dev/null',
      'mkdir -p /etc/docker',
      writeFile('/etc/docker/daemon.json', [JSON.stringify({ 'log-driver': 'json-file', 'log-opts': { 'max-size': c.log_max_size } })]),
      'systemctl enable docker',
      'systemctl restart docker',
      say(`docker ${c.version}: running`),
    ]),
  remove: (c) =>
    bashScript(`docker ${c.version}: remove`, [
      say('docker: stopping and removing'),
      'if dpkg -s docker-ce >/dev/null 2>&1; then',
      '  systemctl disable --now docker.socket docker 2>/dev/null || true',
      '  apt-mark unhold docker-ce docker-ce-cli >/dev/null',
      '  apt-get purge -y -qq docker-ce docker-ce-cli docker-buildx-plugin docker-compose-plugin',
      'fi',
      `rm -f /etc/apt/sources.list.d/docker.list /etc/apt/keyrings/docker.asc ${shQuote('/etc/docker/daemon.json')}`,
      // containerd.io stays: other services (kubernetes) may run on it.
      say('docker: removed (images and volumes under /var/lib/docker are kept)'),
    ]),
});
