import { aptInstall, bashScript, defineTaskserv, REQUIRE_APT, resolvePackageVersion, say, shQuote, writeFile } from '../definition.js';

interface KubernetesConfig {
  version: string;
  role: 'worker' | 'control-plane';
  pod_network_cidr: string;
}

const PACKAGES = 'kubelet kubeadm kubectl';

/**
 * kubelet, kubeadm and kubectl from the Kubernetes project's apt repository (pkgs.k8s.io, one
 * repository per minor version), held at one version. A control plane is also initialised
 * with kubeadm; workers are left ready for `kubeadm join`.
 */
export const kubernetes = defineTaskserv<KubernetesConfig>({
  name: 'kubernetes',
  description: 'Kubernetes node (kubelet, kubeadm, kubectl from pkgs.k8s.io); role control-plane also runs kubeadm init',
  version: '1.28.0',
  parameters: {
    type: 'object',
    additionalProperties: false,
    properties: {
      version: { type: 'string', pattern: '^1\\.(2[4-9]|3[0-9])\\.[0-9]{1,2}$', default: '1.28.0', example: '1.28.0' },
      role: { type: 'string', enum: ['worker', 'control-plane'], default: 'worker' },
      pod_network_cidr: { type: 'string', pattern: '^([0-9]{1,3}\\.){3}[0-9]{1,3}/[0-9]{1,2}$', default: '10.244.0.0/16' },
    },
  },
  install: (c) => {
    const minor = c.version.split('.').slice(0, 2).join('.');
    const repo = `https://pkgs.k8s.io/core:/stable:/v${minor}/deb/`;
    return bashScript(`kubernetes ${c.version} (${c.role}): install`, [
      REQUIRE_APT,
      say(`kubernetes ${c.version}: preparing the node (${c.role})`),
      ...aptInstall(['apt-transport-https', 'ca-certificates', 'curl', 'gpg']),
      // kubelet refuses to run with swap on.
      'swapoff -a',
      "sed -i '/\\sswap\\s/ s/^#*/#/' /etc/fstab",
      writeFile('/etc/modules-load.d/kubernetes.conf', ['overlay', 'br_netfilter']),
      'modprobe overlay',
      'modprobe br_netfilter',
      writeFile('/etc/sysctl.d/99-kubernetes.conf', ['net.bridge.bridge-nf-call-iptables = 1', 'net.bridge.bridge-nf-call-ip6tables = 1', 'net.ipv4.ip_forward = 1']),
      'sysctl --system >/dev/null',
      // A container runtime is needed; the containerd task service installs a specific one.
      'if ! command -v containerd >/dev/null; then',
      '  apt-get install -y -qq containerd',
      '  mkdir -p /etc/containerd',
      '  containerd config default > /etc/containerd/config.toml',
      "  sed -i 's/SystemdCgroup = .*/SystemdCgroup = true/' /etc/containerd/config.toml",
      '  systemctl restart containerd',
      'fi',
      'install -m 0755 -d /etc/apt/keyrings',
      `curl -fsSL ${shQuote(`${repo}Release.key`)} | gpg --dearmor --yes -o /etc/apt/keyrings/kubernetes-apt-keyring.gpg`,
      writeFile('/etc/apt/sources.list.d/kubernetes.list', [`deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] ${repo} /`]),
      'apt-get update -qq',
      ...resolvePackageVersion('PKG_VERSION', 'kubeadm', c.version),
      `apt-get install -y -qq --allow-downgrades --allow-change-held-packages "kubelet=\${PKG_VERSION}" "kubeadm=\${PKG_VERSION}" "kubectl=\${PKG_VERSION}"`,
      `apt-mark hold ${PACKAGES} >/dev/null`,
      'systemctl enable --now kubelet',
      say(`kubernetes ${c.version}: kubelet, kubeadm and kubectl installed`),
      ...(c.role === 'control-plane'
        ? [
            'if [ ! -f /etc/kubernetes/admin.conf ]; then',
            `  kubeadm init --kubernetes-version ${shQuote(`v${c.version}`)} --pod-network-cidr ${shQuote(c.pod_network_cidr)}`,
            'fi',
            say(`kubernetes ${c.version}: control plane initialised (/etc/kubernetes/admin.conf)`),
          ]
        : [say(`kubernetes ${c.version}: worker ready to join a cluster (kubeadm join)`)]),
    ]);
  },
  remove: (c) =>
    bashScript(`kubernetes ${c.version}: remove`, [
      say('kubernetes: resetting the node and removing its packages'),
      'if command -v kubeadm >/dev/null; then kubeadm reset -f; fi',
      'if dpkg -s kubeadm >/dev/null 2>&1; then',
      `  apt-mark unhold ${PACKAGES} >/dev/null`,
      `  apt-get purge -y -qq ${PACKAGES}`,
      'fi',
      'rm -f /etc/apt/sources.list.d/kubernetes.list /etc/apt/keyrings/kubernetes-apt-keyring.gpg /etc/sysctl.d/99-kubernetes.conf /etc/modules-load.d/kubernetes.conf',
      'rm -rf /etc/kubernetes /var/lib/etcd',
      say('kubernetes: removed'),
    ]),
});
