import express from 'express';
import type { Logger } from '../core/logger.js';
import { detailErrorHandler } from './middleware/detail-errors.js';
import type { JsonSchema } from './validation.js';

/** The family's error body, as its routes document it: `{"detail": "…"}`, or for a 422 `{"detail": [{type, loc, msg}]}`. */
export const detailError: JsonSchema = {
  type: 'object',
  required: ['detail'],
  properties: { detail: { description: 'What went wrong: a message, or for a 422 a list of `{type, loc, msg}`' } },
};

/**
 * A router for a family of paths whose errors come in the seeds' `{"detail": …}` shape (the
 * multi-cloud manager's `/do/…`, the UDC droplet endpoints): requests whose path does not
 * match `paths` pass it by untouched; the ones that do go through `guards` (path parameters,
 * JSON body), the routes `fill` declares, and then the family's error handler.
 */
export function detailRouter(paths: RegExp, guards: express.RequestHandler[], logger: Logger, fill: (router: express.Router) => void): express.Router {
  const router = express.Router();
  router.use((req: express.Request, _res: express.Response, next: express.NextFunction) => (paths.test(req.path) ? next() : next('router')), ...guards);
  fill(router);
  router.use(detailErrorHandler(logger));
  return router;
}
