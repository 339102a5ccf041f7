import type { TokenService } from '../../core/auth/tokens.js';
import type { UserDirectory } from '../../core/auth/users.js';
import { EngineError, ErrorCodes } from '../../core/errors.js';
import type { RouteMounter } from '../route.js';
import { loginBody, refreshBody, tokenPairSchema } from '../schemas/auth.js';
import { errorRef } from '../schemas/common.js';

export function authRoutes(route: RouteMounter, users: UserDirectory, tokens: TokenService): void {
  route({
    method: 'POST', path: '/v1/auth/login', tag: 'auth', summary: 'Log in and receive an access token', auth: false,
    body: loginBody,
    responses: { 200: { description: 'Tokens', schema: tokenPairSchema }, 401: { description: 'Invalid credentials', schema: errorRef } },
    handler: async ({ body }) => {
      const user = await users.authenticate(body.username, body.password);
      if (!user) throw new EngineError(ErrorCodes.INVALID_CREDENTIALS, 'invalid username or password');
      return { status: 200, body: tokens.issue(user) };
    },
  });

  route({
    method: 'POST', path: '/v1/auth/refresh', tag: 'auth', summary: 'Exchange a refresh token for new tokens', auth: false,
    body: refreshBody,
    responses: { 200: { description: 'Tokens', schema: tokenPairSchema }, 401: { description: 'Invalid refresh token', schema: errorRef } },
    handler: async ({ body }) => {
      const user = tokens.verify(body.refresh_token, 'refresh');
      if (!users.knows(user.username)) throw new EngineError(ErrorCodes.UNAUTHORIZED, 'the token\'s user no longer exists');
      return { status: 200, body: tokens.issue(user) };
    },
  });
}
