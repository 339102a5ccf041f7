/** The droplet's own descriptions: `/health`'s UDC fields, `/capabilities` and `/version`. */
import type { Config } from '../config.js';
import { buildInfo } from './build-info.js';
import { dependencyNames } from './dependencies.js';

export const UDC_VERSION = '1.0';

/** Algorithms of the tokens this engine signs (its own HS256) and accepts from the mesh (RS256 through JWKS). */
export const JWT_ALGORITHMS = { outgoing: 'HS256', incoming: 'RS256' } as const;

export const FEATURES = [
  'udc_compliance',
  'health_monitoring',
  'metrics_collection',
  'multi-cloud-management',
  'digitalocean-api',
  'hetzner-api',
  'vultr-api',
  'upcloud-api',
  'unified-listing',
  'power-management',
  'asynchronous-operations',
  'workflows',
  'jwt-hs256-outgoing',
  'jwt-rs256-incoming',
  'jwks-verification',
  'structured-logging',
  'event-tracking',
] as const;

/** The UDC fields `/health` adds to its own. */
export function healthIdentity(config: Config, version: string) {
  const d = config.droplet;
  return { id: d.id, name: d.name, steward: d.steward, endpoint: d.endpoint, version, dependencies: dependencyNames(d) };
}

export function capabilities(config: Config, version: string) {
  const build = buildInfo(config.droplet);
  return {
    version,
    udc_version: UDC_VERSION,
    features: [...FEATURES],
    dependencies: dependencyNames(config.droplet),
    backward_compatible: [] as string[],
    metadata: { build_date: build.date, commit_hash: build.commit, environment: config.droplet.environment },
  };
}

export function versionInfo(config: Config, version: string) {
  const d = config.droplet;
  const build = buildInfo(d);
  return {
    version,
    udc_version: UDC_VERSION,
    build_date: build.date,
    commit_hash: build.commit,
    environment: d.environment,
    deployed_by: d.steward,
    droplet_id: d.id,
    name: d.name,
    droplet_domain: new URL(d.endpoint).host,
    endpoint: d.endpoint,
    registry_url: d.registryUrl,
    jwks_url: config.auth.jwks?.url ?? null,
    jwt_algorithms: { ...JWT_ALGORITHMS },
    node_version: process.versions.node,
  };
}
