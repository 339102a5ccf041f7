import { AuthenticationFailed } from '../../core/auth/authenticate.js';
import type { TokenService } from '../../core/auth/tokens.js';
import type { UserDirectory } from '../../core/auth/users.js';
import { EngineError, ErrorCodes, UnauthorizedError } from '../../common/errors.js';
import type { RouteMounter } from '../route.js';
import { changePasswordBody, loginBody, logoutBody, refreshBody, tokenPairSchema } from '../schemas/auth.js';
import { errorRef } from '../schemas/common.js';

const noStore = { 'Cache-Control': 'no-store' };

export function authRoutes(route: RouteMounter, users: UserDirectory, tokens: TokenService): void {
  route({
    method: 'POST', path: '/v1/auth/login', operationId: 'login', tag: 'auth', summary: 'Log in: a short-lived access token and a refresh token', auth: false, throttle: 'login',
    description: "Checks a username and password of the engine's own users. Send the access token as `Authorization: Bearer <token>`; exchange the refresh token at `/v1/auth/refresh` before the access token expires. Failures are counted per client address and per username: too many answer 429.",
    body: loginBody,
    responses: { 200: { description: 'Tokens', schema: tokenPairSchema }, 401: { description: 'Invalid credentials', schema: errorRef } },
    handler: async ({ body }) => {
      const user = await users.authenticate(body.username, body.password);
      if (!user) throw new EngineError(ErrorCodes.INVALID_CREDENTIALS, 'invalid username or password');
      return { status: 200, body: await tokens.login(user.username), headers: noStore, audit: { resource_type: 'user', resource_id: user.username } };
    },
  });

  route({
    method: 'POST', path: '/v1/auth/refresh', operationId: 'refreshToken', tag: 'auth', summary: 'Exchange a refresh token (once) for new tokens', auth: false, throttle: 'refresh',
    description: 'A refresh token works once. Sending a spent one again ends its whole session (it was copied). A user that no longer exists, is disabled, or whose password changed since gets 401.',
    body: refreshBody,
    responses: { 200: { description: 'Tokens', schema: tokenPairSchema }, 401: { description: 'Invalid, spent or revoked refresh token', schema: errorRef } },
    handler: async ({ body }) => {
      const spent = await tokens.spend(body.refresh_token);
      if (spent.outcome === 'reused') {
        throw new AuthenticationFailed('this refresh token was already used: its session is revoked; log in again', { kind: 'user', name: spent.username });
      }
      if (spent.outcome !== 'ok') throw new UnauthorizedError(spent.outcome === 'ended' ? 'the session has ended; log in again' : 'the refresh token is not valid');
      // The user as it is now: a disabled user, or one with a new password since, gets nothing.
      const identity = await users.identity(spent.username, spent.sessionStartedMs);
      if (!identity) {
        await tokens.endSession(spent.session);
        throw new UnauthorizedError("the token's user does not exist, is disabled, or has signed in again since");
      }
      return { status: 200, body: await tokens.continueSession(spent.username, spent.session), headers: noStore, audit: { resource_type: 'user', resource_id: spent.username } };
    },
  });

  route({
    method: 'POST', path: '/v1/auth/logout', operationId: 'logout', tag: 'auth', summary: "End the session of the access token (and of a refresh token sent with it)",
    description: "The access token stops working at once, on every replica. A refresh token in the body ends that token's session too, when it is another session of the same user.",
    body: logoutBody, bodyOptional: true,
    responses: { 204: { description: 'Ended' } },
    handler: async ({ identity, body }) => {
      if (identity.session) await tokens.endSession(identity.session);
      if (body.refresh_token) {
        const other = await tokens.sessionOf(body.refresh_token);
        if (other && other.username === identity.username) await tokens.endSession(other.session);
      }
      return { status: 204, body: null, audit: { resource_type: 'user', resource_id: identity.username } };
    },
  });

  route({
    method: 'POST', path: '/v1/auth/password', operationId: 'changePassword', tag: 'auth', summary: 'Change your own password: every session begun before it ends, this one included; log in again',
    description: 'Needs the current password; the new one has at least 12 characters. Every session begun before the change ends, this one included: log in again. Wrong current passwords are counted like failed logins.',
    body: changePasswordBody, throttle: 'password',
    responses: { 204: { description: 'Changed' }, 401: { description: 'The current password is wrong', schema: errorRef } },
    handler: async ({ identity, body }) => {
      if (identity.kind !== 'user') throw new EngineError(ErrorCodes.FORBIDDEN, 'only a user signed in with a password can change it');
      const user = await users.authenticate(identity.username, body.current_password);
      if (!user) throw new EngineError(ErrorCodes.INVALID_CREDENTIALS, 'the current password is wrong');
      await users.setPassword(identity.username, body.new_password);
      return { status: 204, body: null, audit: { resource_type: 'user', resource_id: identity.username } };
    },
  });
}
