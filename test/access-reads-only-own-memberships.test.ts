import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Access } from '../src/core/auth/access.js';
import { NotAMemberError } from '../src/common/errors.js';

/**
 * A user's memberships come from JSON in its Redis record, so they inherit Object.prototype.
 * `constructor` is a valid workspace name: a caller who is no member of it must be treated
 * as such (404 for its resources, NOT_A_MEMBER for submits), not as one seeing it.
 */
test('a workspace named like an Object.prototype member is not seen by non-members', () => {
  const access = new Access({ kind: 'user', username: 'alice', admin: false, workspaces: JSON.parse('{"team-a":"operator"}') });
  assert.equal(access.sees('constructor'), false);
  assert.equal(access.can('server_read', 'constructor'), false);
  assert.throws(() => access.requireIn('server_create', 'constructor'), NotAMemberError);
  const notFound = new Error('not found');
  assert.throws(() => access.requireOn('server_read', 'constructor', () => notFound), (err) => err === notFound);
  assert.equal(access.sees('team-a'), true);
  assert.equal(access.can('server_create', 'team-a'), true);
});
