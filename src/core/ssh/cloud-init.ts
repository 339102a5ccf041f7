import { createHash } from 'node:crypto';

/**
 * Puts the engine's public key on a server through its user data, which every provider
 * passes to cloud-init on first boot.
 *
 * - No user data: a `#cloud-config` with just `ssh_authorized_keys`.
 * - Anything else: a MIME multi-part message (cloud-init's own way to combine parts) holding
 *   the user's data unchanged as its own part, and the engine's cloud-config as another. The
 *   engine's part carries a Merge-Type that appends lists, so when the user's part is a
 *   cloud-config with its own `ssh_authorized_keys`, both lists are kept (cloud-init's default
 *   merge would let the later list replace the earlier one). Rewriting the user's YAML
 *   instead would risk changing what it means.
 * - Already multi-part: the engine's part is added before the closing boundary.
 */
export function withEngineKey(userData: string | undefined, publicKey: string): string {
  const engineConfig = `#cloud-config\nssh_authorized_keys:\n  - ${publicKey}\n`;
  if (userData === undefined || userData.trim() === '') return engineConfig;

  const enginePart = [
    'Content-Type: text/cloud-config; charset="utf-8"',
    'MIME-Version: 1.0',
    'Content-Transfer-Encoding: 7bit',
    'Merge-Type: list(append)+dict(no_replace,recurse_list)+str()',
    '',
    engineConfig,
  ].join('\n');

  const existing = multipartBoundary(userData);
  if (existing !== null) {
    const closing = userData.lastIndexOf(`--${existing}--`);
    if (closing >= 0) return `${userData.slice(0, closing)}--${existing}\n${enginePart}\n${userData.slice(closing)}`;
  }

  // A boundary that cannot occur in either part.
  const boundary = `==pe-${createHash('sha256').update(userData).digest('hex').slice(0, 24)}==`;
  const userPart = [`Content-Type: ${partType(userData)}; charset="utf-8"`, 'MIME-Version: 1.0', '', userData.endsWith('\n') ? userData : `${userData}\n`].join('\n');
  return [
    `Content-Type: multipart/mixed; boundary="${boundary}"`,
    'MIME-Version: 1.0',
    '',
    `--${boundary}`,
    userPart,
    `--${boundary}`,
    enginePart,
    `--${boundary}--`,
    '',
  ].join('\n');
}

/** The boundary of user data that is already a MIME multi-part message, else null. */
function multipartBoundary(userData: string): string | null {
  const end = userData.search(/\r?\n\r?\n/);
  const header = end < 0 ? userData : userData.slice(0, end);
  if (!/^content-type:\s*multipart\//im.test(header)) return null;
  return /boundary="?([^";\r\n]+)"?/i.exec(header)?.[1] ?? null;
}

/** cloud-init's content type for a part, from how its text starts (as cloud-init decides it). */
const STARTS_WITH: Array<[string, string]> = [
  ['#!', 'text/x-shellscript'],
  ['#cloud-config-archive', 'text/cloud-config-archive'],
  ['#cloud-config', 'text/cloud-config'],
  ['#include-once', 'text/x-include-once-url'],
  ['#include', 'text/x-include-url'],
  ['#cloud-boothook', 'text/cloud-boothook'],
  ['#part-handler', 'text/part-handler'],
  ['## template: jinja', 'text/jinja2'],
];

function partType(userData: string): string {
  const start = userData.trimStart().toLowerCase();
  // text/plain lets cloud-init look at the text itself, as it would were it the only part.
  return STARTS_WITH.find(([prefix]) => start.startsWith(prefix))?.[1] ?? 'text/plain';
}
