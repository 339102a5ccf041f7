/**
 * How the simulated UpCloud API writes its resources (PROVIDERS.md §4.2–§4.4): collections
 * double-wrapped (`{"servers":{"server":[…]}}`), counts as strings ("1", "1024"),
 * booleans as "yes"/"no", `created` as Unix seconds.
 */
import { isoSeconds } from '../clock.js';
import {
  CUSTOM_PRICES,
  UPCLOUD_PLANS,
  UPCLOUD_TEMPLATES,
  UPCLOUD_ZONES,
  type UpCloudTemplate,
  type UpCloudZone,
} from './catalogue.js';
import { type ServerRecord, type StorageRecord, type UpCloudStore, hostOf } from './store.js';

/** A `GET /server` list item: a summary without addresses or disks. */
export function serverSummaryJson(server: ServerRecord): Record<string, unknown> {
  const json: Record<string, unknown> = {
    uuid: server.uuid,
    title: server.title,
    hostname: server.hostname,
    state: server.state,
    zone: server.zone,
    plan: server.plan,
    core_number: String(server.coreNumber),
    memory_amount: String(server.memoryAmount),
    labels: { label: server.labels.map((l) => ({ ...l })) },
    tags: { tag: [] },
    created: Math.floor(server.createdAtMs / 1000),
    license: 0,
    plan_ipv4_bytes: '0',
    plan_ipv6_bytes: '0',
    server_group: null,
    simple_backup: 'no',
  };
  // Only a running server sits on a host.
  if (server.state === 'started') json.host = hostOf(server);
  return json;
}

/** `GET /server/{uuid}` and every answer that returns one server. */
export function serverDetailsJson(server: ServerRecord, store: UpCloudStore): Record<string, unknown> {
  const json = serverSummaryJson(server);
  const progress = store.buildProgress(server);
  if (progress !== null) json.progress = String(progress);
  json.ip_addresses = {
    ip_address: server.interfaces.flatMap((iface) =>
      iface.addresses.map((a) => ({ access: iface.type, family: a.family, address: a.address })),
    ),
  };
  json.networking = {
    interfaces: {
      interface: server.interfaces.map((iface) => ({
        index: iface.index,
        type: iface.type,
        mac: iface.mac,
        network: iface.network,
        ip_addresses: { ip_address: iface.addresses.map((a) => ({ address: a.address, family: a.family, floating: 'no' })) },
        bootable: 'no',
        source_ip_filtering: 'yes',
      })),
    },
  };
  json.storage_devices = {
    storage_device: store.storagesOf(server).map((s, i) => ({
      address: `virtio:${i}`,
      // UpCloud's own answers carry "0" here even for the only, booting disk.
      boot_disk: '0',
      part_of_plan: i === 0 && server.plan !== 'custom' ? 'yes' : 'no',
      storage: s.uuid,
      storage_size: s.sizeGb,
      storage_tier: s.tier,
      storage_title: s.title,
      type: 'disk',
    })),
  };
  Object.assign(json, {
    boot_order: 'disk',
    firewall: 'off',
    metadata: server.metadata ? 'yes' : 'no',
    nic_model: 'virtio',
    remote_access_enabled: 'no',
    remote_access_type: 'vnc',
    remote_access_password: server.remoteAccessPassword,
    timezone: 'UTC',
    video_model: 'cirrus',
  });
  return json;
}

export function storageSummaryJson(storage: StorageRecord, store: UpCloudStore): Record<string, unknown> {
  const json: Record<string, unknown> = {
    access: 'private',
    created: isoSeconds(storage.createdAtMs),
    encrypted: 'no',
    labels: { label: [] },
    license: 0,
    size: storage.sizeGb,
    state: storageState(storage, store),
    tier: storage.tier,
    title: storage.title,
    type: 'normal',
    uuid: storage.uuid,
    zone: storage.zone,
  };
  if (storage.origin !== null) json.origin = storage.origin;
  return json;
}

export function storageDetailsJson(storage: StorageRecord, store: UpCloudStore): Record<string, unknown> {
  return {
    ...storageSummaryJson(storage, store),
    backup_rule: '',
    backups: { backup: [] },
    servers: { server: storage.serverUuid === null ? [] : [storage.serverUuid] },
  };
}

export function templateJson(template: UpCloudTemplate): Record<string, unknown> {
  return {
    access: 'public',
    created: template.createdAt,
    license: 0,
    size: template.size,
    state: 'online',
    template_type: template.templateType,
    tier: 'maxiops',
    title: template.title,
    type: 'template',
    uuid: template.uuid,
  };
}

export function zoneJson(zone: UpCloudZone): Record<string, unknown> {
  return { id: zone.id, description: zone.description, public: 'yes' };
}

/** `GET /plan`: here the numbers are numbers, as in UpCloud's recorded answers. */
export function plansJson(): Record<string, unknown> {
  return {
    plans: {
      plan: UPCLOUD_PLANS.map((p) => ({
        core_number: p.coreNumber,
        memory_amount: p.memoryAmount,
        name: p.name,
        public_traffic_out: p.publicTrafficOut,
        storage_size: p.storageSize,
        storage_tier: p.storageTier,
      })),
    },
  };
}

/** `GET /price`: per zone, every item's hourly price in euro cents for `amount` units. */
export function pricesJson(): Record<string, unknown> {
  return {
    prices: {
      zone: UPCLOUD_ZONES.map((zone) => {
        const entry: Record<string, unknown> = {
          name: zone.id,
          server_core: { ...CUSTOM_PRICES.serverCore },
          server_memory: { ...CUSTOM_PRICES.serverMemory },
          storage_maxiops: { amount: 1, price: 0.028 },
          ipv4_address: { amount: 1, price: 0.3 },
          ipv6_address: { amount: 1, price: 0 },
        };
        for (const plan of UPCLOUD_PLANS) entry[`server_plan_${plan.name}`] = { amount: 1, price: plan.priceCentsPerHour };
        return entry;
      }),
    },
  };
}

export function templatesJson(): Record<string, unknown>[] {
  return UPCLOUD_TEMPLATES.map(templateJson);
}

/** A disk being cloned for a server that is still being built reads `maintenance`. */
function storageState(storage: StorageRecord, store: UpCloudStore): string {
  return store.serverOf(storage)?.build ? 'maintenance' : 'online';
}
