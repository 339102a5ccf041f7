/**
 * UpCloud API 1.2 beside 1.3: the same account and servers, reached at `/1.2/…` by clients
 * written before 1.3 (upcloud-go-api before August 2020, upcloud-python-api before September
 * 2020, and code that still pins 1.2).
 * The simulator serves both versions from one router; a request that came in through the
 * 1.2 mount is marked, its body translated to 1.3 names on the way in and its server bodies
 * back to 1.2 names on the way out. Errors keep the legacy `{"error":{error_code,
 * error_message}}` shape: problem+json came with 1.3.
 *
 * The differences, from the official clients' own 1.2 → 1.3 conversion and the real 1.2
 * answers they recorded (upcloud-go-api `upcloud/server.go`, `upcloud/request/server.go`,
 * `upcloud/ip_address.go` and `service/fixtures/*.yaml` before its 1.3 move; the python
 * client's `Server` fields before it moved):
 *
 * | 1.2                                         | 1.3                                             |
 * |---------------------------------------------|-------------------------------------------------|
 * | create: `ip_addresses.ip_address[{access,family}]` | `networking.interfaces.interface[{type,ip_addresses}]` |
 * | IP `access: "private"` (the 10.x network)   | `"utility"` (private now means an SDN network)  |
 * | `vnc` on/off, `vnc_password`, `vnc_host`, `vnc_port` | `remote_access_enabled` yes/no, `remote_access_password`, `…_host`, `…_port`, `remote_access_type` |
 * | no `networking`, `labels`, `simple_backup`, `server_group`; IPs without `mac`/`floating`/`zone` | has them |
 * | a create naming no plan nor size is a custom 1 core / 1024 MiB server | (the simulator asks for one) |
 *
 * Account, zones, plans, prices and storages did not change between the two versions.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { UpCloudApiError, badRequest, defaultErrorFor } from './errors.js';

export const UPCLOUD_API_1_2 = '1.2';

/** Marks a request as having come in through the 1.2 mount. */
export function markApi12(): RequestHandler {
  return (_req, res, next) => {
    res.locals.upcloudApiVersion = UPCLOUD_API_1_2;
    next();
  };
}

export function isApi12(res: Response): boolean {
  return res.locals.upcloudApiVersion === UPCLOUD_API_1_2;
}

/** What 1.2 serves: the account, the catalogue, storages and the server lifecycle. */
const SERVED_IN_1_2 = [
  /^\/account\/?$/,
  /^\/zone\/?$/,
  /^\/plan\/?$/,
  /^\/price\/?$/,
  /^\/storage(\/[^/]+)?\/?$/,
  /^\/server\/?$/,
  /^\/server\/[^/]+\/?$/,
  /^\/server\/[^/]+\/(start|stop|restart)\/?$/,
];

/**
 * After the body is parsed, before the routes: for a 1.2 request, refuses what 1.2 does not
 * serve (in UpCloud's own 404), translates a server create or modify body to 1.3 names and
 * makes `res.json` write servers with the 1.2 names.
 */
export function api12Translation(): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!isApi12(res)) return next();
    if (!SERVED_IN_1_2.some((path) => path.test(req.path))) {
      const { code, message } = defaultErrorFor(404);
      throw new UpCloudApiError(404, code, message);
    }
    if ((req.method === 'POST' && /^\/server\/?$/.test(req.path)) || req.method === 'PUT') {
      req.body = serverRequestTo13(req.body, req.method === 'POST');
    }
    const json = res.json.bind(res);
    res.json = (body: unknown) => json(responseTo12(body));
    next();
  };
}

function serverRequestTo13(body: unknown, isCreate: boolean): unknown {
  if (!isObject(body) || !isObject(body.server)) return body;
  const server: Record<string, unknown> = { ...body.server };
  // 1.2 has no `networking`; its clients name the addresses they want directly.
  delete server.networking;
  if (isCreate && server.ip_addresses !== undefined && server.ip_addresses !== null) {
    server.networking = interfacesFor(server.ip_addresses);
  }
  delete server.ip_addresses;
  // The 1.2 clients send no size for a default server; UpCloud's recorded 1.2 answer to
  // such a create is a custom server of 1 core and 1024 MiB.
  if (isCreate && [server.plan, server.core_number, server.memory_amount].every((v) => v === undefined || v === null)) {
    server.core_number = 1;
    server.memory_amount = 1024;
  }
  if (server.vnc !== undefined) {
    if (server.vnc !== 'on' && server.vnc !== 'off') throw badRequest('VNC_INVALID', 'vnc must be "on" or "off".', 'vnc');
    server.remote_access_enabled = server.vnc === 'on' ? 'yes' : 'no';
    server.remote_access_type = 'vnc';
    delete server.vnc;
  }
  if (server.vnc_password !== undefined) {
    server.remote_access_password = server.vnc_password;
    delete server.vnc_password;
  }
  return { ...body, server };
}

/** 1.2's flat address list, one 1.3 interface per address; `private` is 1.3's `utility`. */
function interfacesFor(value: unknown): Record<string, unknown> {
  const list = isObject(value) ? value.ip_address : undefined;
  if (!Array.isArray(list) || list.length === 0) {
    throw badRequest('IP_ADDRESS_INVALID', 'ip_addresses must hold ip_address, a list of {access, family}.', 'ip_addresses');
  }
  const interfaces = list.map((item, i) => {
    const field = `ip_addresses.ip_address[${i}]`;
    if (!isObject(item)) throw badRequest('IP_ADDRESS_INVALID', `${field} must be an object.`, field);
    const access = item.access;
    if (access !== 'public' && access !== 'private' && access !== 'utility') {
      throw badRequest('IP_ADDRESS_INVALID', `${field}.access must be public or private.`, `${field}.access`);
    }
    // 1.2 defaults an address without a family to IPv4.
    const family = item.family === undefined || item.family === null ? 'IPv4' : item.family;
    return { type: access === 'public' ? 'public' : 'utility', ip_addresses: { ip_address: [{ family }] } };
  });
  return { interfaces: { interface: interfaces } };
}

function responseTo12(body: unknown): unknown {
  if (!isObject(body)) return body;
  if (isObject(body.server)) return { ...body, server: serverTo12(body.server) };
  if (isObject(body.servers) && Array.isArray(body.servers.server)) {
    return { ...body, servers: { ...body.servers, server: body.servers.server.map((s) => (isObject(s) ? serverTo12(s) : s)) } };
  }
  return body;
}

const ONLY_IN_1_3 = ['networking', 'labels', 'simple_backup', 'server_group', 'remote_access_type'];

function serverTo12(server: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(server)) {
    if (ONLY_IN_1_3.includes(key)) continue;
    switch (key) {
      case 'remote_access_enabled':
        out.vnc = value === 'yes' ? 'on' : 'off';
        break;
      case 'remote_access_password':
        out.vnc_password = value;
        break;
      case 'remote_access_host':
        out.vnc_host = value;
        break;
      case 'remote_access_port':
        out.vnc_port = value;
        break;
      case 'ip_addresses':
        out.ip_addresses = addressesTo12(value);
        break;
      default:
        out[key] = value;
    }
  }
  return out;
}

function addressesTo12(value: unknown): unknown {
  if (!isObject(value) || !Array.isArray(value.ip_address)) return value;
  return {
    ip_address: value.ip_address.map((a) => {
      if (!isObject(a)) return a;
      const { mac: _mac, floating: _floating, zone: _zone, ...rest } = a;
      return rest.access === 'utility' ? { ...rest, access: 'private' } : rest;
    }),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
