/**
 * An instance as Vultr's API prints it (PROVIDERS.md §3.3 example): the status triple at
 * this moment, `main_ip` "0.0.0.0" and an empty `kvm` until the instance is provisioned,
 * IPv6 fields only when IPv6 was asked for, and `+00:00` timestamps.
 */
import { isoSeconds } from '../clock.js';
import { type InstanceRecord, type InstanceState, visibleMainIp } from './store.js';

export interface InstanceJsonOptions {
  /** Where console URLs point, e.g. `http://127.0.0.1:PORT/vultr/v2/kvm`. */
  kvmBaseUrl: string;
  /** Only the create answer carries the root password. */
  defaultPassword?: string;
}

export function instanceJson(i: InstanceRecord, state: InstanceState, options: InstanceJsonOptions): Record<string, unknown> {
  const provisioned = state.provisioned;
  const v6 = provisioned && i.enableIpv6;
  const features: string[] = [];
  if (i.backups === 'enabled') features.push('auto_backups');
  if (i.enableIpv6) features.push('ipv6');
  if (i.ddosProtection) features.push('ddos_protection');

  const json: Record<string, unknown> = {
    id: i.id,
    os: i.os.name,
    os_id: i.os.id,
    app_id: 0,
    image_id: '',
    ram: i.plan.ram,
    disk: i.plan.disk,
    vcpu_count: i.plan.vcpu_count,
    plan: i.plan.id,
    region: i.region.id,
    date_created: vultrTimestamp(i.createdAt),
    status: state.status,
    power_status: state.powerStatus,
    server_status: state.serverStatus,
    main_ip: visibleMainIp(i, state),
    netmask_v4: provisioned ? i.addresses.netmaskV4 : '',
    gateway_v4: provisioned ? i.addresses.gatewayV4 : '0.0.0.0',
    v6_network: v6 ? i.addresses.v6Network : '',
    v6_main_ip: v6 ? i.addresses.v6MainIp : '',
    v6_network_size: v6 ? 64 : 0,
    label: i.label,
    hostname: i.hostname,
    internal_ip: '',
    kvm: provisioned ? `${options.kvmBaseUrl}/${i.id}?data=${encodeURIComponent(i.kvmToken)}` : '',
    allowed_bandwidth: i.plan.bandwidth,
    firewall_group_id: i.firewallGroupId,
    features,
    tags: [...i.tags],
    user_scheme: 'root',
  };
  if (options.defaultPassword !== undefined) json.default_password = options.defaultPassword;
  return json;
}

/** Vultr prints `2021-09-14T13:22:20+00:00` rather than a `Z`. */
export function vultrTimestamp(ms: number): string {
  return isoSeconds(ms).replace(/Z$/, '+00:00');
}
