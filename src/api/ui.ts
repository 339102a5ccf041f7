import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { uiContentSecurityPolicy } from './middleware/security-headers.js';

/** Where `npm run build:ui` (scripts/build-ui.ts) writes the dashboard. */
export const UI_DIST = fileURLToPath(new URL('../../dist/ui/', import.meta.url));

/**
 * The operators' dashboard at `/ui/`: the files `npm run build:ui` built, under their own
 * content-security policy (scripts and styles from this origin only, no inline script). It is
 * a single page with hash routes, so any other path under /ui/ answers its index.html. Until
 * it is built, every /ui path answers 503 saying how to build it.
 */
export function dashboard(dir = UI_DIST): Router {
  const router = express.Router();
  router.use(uiContentSecurityPolicy());
  router.use((req: Request, res: Response, next: NextFunction) => {
    if (existsSync(join(dir, 'index.html'))) return next();
    res.status(503).json({ error: 'UI_NOT_BUILT', message: 'the dashboard is not built: run `npm run build:ui`', code: '503', trace_id: res.locals.traceId });
  });
  router.use(express.static(dir, { index: 'index.html', redirect: true, fallthrough: true }));
  router.use((req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (/\.[a-z0-9]+$/i.test(req.path)) return next();
    res.sendFile(join(dir, 'index.html'));
  });
  return router;
}
