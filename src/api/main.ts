import { bootConfig, requireRedisUrl } from '../core/boot.js';
import { closeLogList, createLogger } from '../core/logger.js';
import { logListOf } from '../core/redis-log-transport.js';
import { startTelemetry, stopTelemetry } from '../core/telemetry.js';
import { VERSION } from '../core/version.js';
import { bootSecretBox, orStopOnConfigError } from '../core/secrets/boot.js';
import { settled, stopWithin, untilUnlessRedisLost } from '../supervisor/shutdown.js';
import { startApi, type RunningApi } from './server.js';

const config = bootConfig('api');
// The engine's secret key, at start: a bad one (or a stored secret it does not open) stops the API naming the setting.
bootSecretBox(config, 'api');
const redisUrl = requireRedisUrl(config, 'api');
// Its newest records also go to Redis for GET /logs.
const logger = createLogger('api', config.logLevel, { redisLog: logListOf(config, redisUrl) });
// OpenTelemetry traces, only when an OTLP endpoint is configured; before the first request.
await startTelemetry(config.telemetry, 'api', VERSION);
// How long a stopping API may spend sending its last spans or log records.
const FLUSH_MS = 3000;
// SIGTERM/SIGINT: answer the requests in hand and close, within SHUTDOWN_TIMEOUT_MS; a second
// signal means now. Set up before anything connects, so a stop while starting has its deadline too.
let api: RunningApi | null = null;
stopWithin({
  name: 'api',
  timeoutMs: config.shutdownTimeoutMs,
  log: (level, message, meta) => logger.log(level, message, meta),
  stop: async () => {
    if (api === null) return 'stopped before it was ready';
    logger.info('api stopping', { deadline_ms: config.shutdownTimeoutMs });
    const closed = settled(api.close());
    if (await untilUnlessRedisLost(() => closed.done, [api.ctx.redis])) {
      await stopTelemetry(FLUSH_MS);
      await closeLogList(logger, FLUSH_MS);
      if (closed.error) throw closed.error;
      return;
    }
    // Nothing in hand can be answered without Redis, and a QUIT to it would wait forever.
    api.ctx.redis.disconnect();
    await stopTelemetry(FLUSH_MS);
    await closeLogList(logger, FLUSH_MS);
    return 'Redis unreachable; its connection was dropped';
  },
});
api = await orStopOnConfigError('api', startApi(config, redisUrl, logger, (password) => {
  // Printed once, straight to the terminal and never to the log; only its hash is kept.
  process.stdout.write(
    `\n  First start: an admin user was created.\n  username: admin\n  password: ${password}\n  Keep it now: it is not shown again (set ADMIN_PASSWORD before the first start to choose it).\n\n`,
  );
}));
logger.info('api listening', { url: api.url, port: config.port });
