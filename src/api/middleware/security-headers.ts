import { createHash } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';

/**
 * Security headers on every answer (helmet): `X-Content-Type-Options: nosniff`, no framing
 * (`X-Frame-Options: DENY` and `frame-ancestors 'none'`), `Referrer-Policy: no-referrer`,
 * HSTS, cross-origin policies, and a content-security policy.
 *
 * The API answers JSON, which a browser never runs, so its policy allows nothing at all:
 * should an answer ever be rendered as a page (an error echoing input, say), no script, style,
 * frame or form in it does anything.
 */
const API_CSP = {
  'default-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'none'"],
  'frame-ancestors': ["'none'"],
};

export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: { useDefaults: false, directives: API_CSP },
    xFrameOptions: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
  });
}

/** The SHA-256 source expressions (`'sha256-…'`) of the inline `<script>` elements of a page. */
export function inlineScriptHashes(html: string): string[] {
  const hashes: string[] = [];
  for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script\s*>/gi)) {
    if (/\bsrc\s*=/i.test(m[1]!)) continue;
    hashes.push(`'sha256-${createHash('sha256').update(m[2]!, 'utf8').digest('base64')}'`);
  }
  return hashes;
}

/**
 * The policy of the Swagger UI pages under `/docs`, a per-route policy in place of the API's.
 *
 * Why this shape: swagger-ui-express 5 loads everything it runs from `/docs` itself
 * (swagger-ui-bundle.js, the standalone preset, and swagger-ui-init.js, its initialiser, served
 * as a file), so `script-src 'self'` is enough; should the page it generates ever carry an inline
 * script (older versions inlined the initialiser, and `customJsStr` does), its SHA-256 is
 * allowed, computed here from the very page served, rather than a nonce, which would mean
 * rewriting the page per request. No `'unsafe-eval'`: the bundle only reaches for
 * `Function("return this")` where `globalThis` is missing. Styles keep `'unsafe-inline'`: the
 * page has inline `<style>` blocks and `style` attributes, and Swagger UI sets styles as it
 * renders, none of which can run code. Images are its own and the `data:` icons in its CSS; it
 * fetches `/openapi.json` and, with "Try it out", the API on the same origin. The validator
 * badge (an image from validator.swagger.io) is turned off where the UI is set up.
 */
export function docsContentSecurityPolicy(html: string): RequestHandler {
  const csp = helmet.contentSecurityPolicy({
    useDefaults: false,
    directives: {
      'default-src': ["'none'"],
      'script-src': ["'self'", ...inlineScriptHashes(html)],
      'style-src': ["'self'", "'unsafe-inline'"],
      'img-src': ["'self'", 'data:'],
      'connect-src': ["'self'"],
      'base-uri': ["'none'"],
      'form-action': ["'self'"],
      'frame-ancestors': ["'none'"],
      'object-src': ["'none'"],
    },
  });
  return (req: Request, res: Response, next: NextFunction) => csp(req, res, next);
}

/**
 * The dashboard's policy under `/ui/` (in place of the API's): its script, styles and images
 * come from this origin only and it talks to the API on the same origin. No inline script and
 * no `eval`; styles from its own stylesheet (`style` properties set from script are allowed by
 * browsers under any style-src). `data:` images are the icons Pico CSS draws in its stylesheet.
 */
export function uiContentSecurityPolicy(): RequestHandler {
  return helmet.contentSecurityPolicy({
    useDefaults: false,
    directives: {
      'default-src': ["'none'"],
      'script-src': ["'self'"],
      'style-src': ["'self'"],
      'img-src': ["'self'", 'data:'],
      'font-src': ["'self'"],
      'connect-src': ["'self'"],
      'manifest-src': ["'self'"],
      'base-uri': ["'none'"],
      'form-action': ["'self'"],
      'frame-ancestors': ["'none'"],
      'object-src': ["'none'"],
    },
  });
}
