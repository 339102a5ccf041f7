import { aptInstall, bashScript, defineTaskserv, REQUIRE_APT, say, shQuote } from '../definition.js';

interface ContainerdConfig {
  version: string;
  runc_version: string;
  systemd_cgroup: boolean;
}

const BINARIES = ['containerd', 'containerd-shim', 'containerd-shim-runc-v1', 'containerd-shim-runc-v2', 'containerd-stress', 'ctr'];

/** containerd and runc from their release binaries, run by systemd. */
export const containerd = defineTaskserv<ContainerdConfig>({
  name: 'containerd',
  description: 'containerd container runtime with runc, from the upstream release binaries, as a systemd service',
  version: '1.7.22',
  parameters: {
    type: 'object',
    additionalProperties: false,
    properties: {
      version: { type: 'string', pattern: '^[12]\\.[0-9]{1,2}\\.[0-9]{1,2}$', default: '1.7.22', example: '1.7.22' },
      runc_version: { type: 'string', pattern: '^1\\.[0-9]{1,2}\\.[0-9]{1,2}$', default: '1.1.14' },
      systemd_cgroup: { type: 'boolean', default: true, description: 'Use the systemd cgroup driver (what kubelet expects)' },
    },
  },
  install: (c) => {
    const release = `https://github.com/containerd/containerd/releases/download/v${c.version}`;
    return bashScript(`containerd ${c.version}: install`, [
      REQUIRE_APT,
      say(`containerd ${c.version}: installing (runc ${c.runc_version})`),
      ...aptInstall(['curl', 'ca-certificates', 'tar']),
      'ARCH="$(dpkg --print-architecture)"',
      // Downloads only when the installed binary is another version.
      `if [ "$(/usr/local/bin/containerd --version 2>/dev/null | awk '{print $3}')" != ${shQuote(`v${c.version}`)} ]; then`,
      `  curl -fsSL "${release}/containerd-${c.version}-linux-\${ARCH}.tar.gz" -o /tmp/containerd.tar.gz`,
      '  tar -C /usr/local -xzf /tmp/containerd.tar.gz',
      '  rm -f /tmp/containerd.tar.gz',
      'fi',
      `curl -fsSL ${shQuote(`https://raw.githubusercontent.com/containerd/containerd/v${c.version}/containerd.service`)} -o /etc/systemd/system/containerd.service`,
      `if [ "$(/usr/local/sbin/runc --version 2>/dev/null | awk 'NR==1 {print $3}')" != ${shQuote(c.runc_version)} ]; then`,
      `  curl -fsSL "https://github.com/opencontainers/runc/releases/download/v${c.runc_version}/runc.\${ARCH}" -o /usr/local/sbin/runc`,
      '  chmod 0755 /usr/local/sbin/runc',
      'fi',
      'mkdir -p /etc/containerd',
      '/usr/local/bin/containerd config default > /etc/containerd/config.toml',
      `sed -i 's/SystemdCgroup = .*/SystemdCgroup = ${c.systemd_cgroup}/' /etc/containerd/config.toml`,
      'systemctl daemon-reload',
      'systemctl enable containerd',
      'systemctl restart containerd',
      say(`containerd ${c.version}: running`),
    ]);
  },
  remove: (c) =>
    bashScript(`containerd ${c.version}: remove`, [
      say('containerd: stopping and removing'),
      'systemctl disable --now containerd 2>/dev/null || true',
      `rm -f /etc/systemd/system/containerd.service /usr/local/sbin/runc ${BINARIES.map((b) => `/usr/local/bin/${b}`).join(' ')}`,
      'rm -rf /etc/containerd',
      'systemctl daemon-reload',
      // Images and container state under /var/lib/containerd are left for the operator.
      say('containerd: removed (data under /var/lib/containerd is kept)'),
    ]),
});
