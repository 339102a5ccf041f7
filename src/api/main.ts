import { bootConfig, onShutdown, requireRedisUrl } from '../core/boot.js';
import { createLogger } from '../core/logger.js';
import { bootSecretBox, orStopOnConfigError } from '../core/secrets/boot.js';
import { startApi } from './server.js';

const config = bootConfig('api');
// The engine's secret key, at start: a bad one (or a stored secret it does not open) stops the API naming the setting.
bootSecretBox(config, 'api');
const logger = createLogger('api', config.logLevel);
const api = await orStopOnConfigError('api', startApi(config, requireRedisUrl(config, 'api'), logger, (password) => {
  // Printed once, straight to the terminal and never to the log; only its hash is kept.
  process.stdout.write(
    `\n  First start: an admin user was created.\n  username: admin\n  password: ${password}\n  Keep it now: it is not shown again (set ADMIN_PASSWORD before the first start to choose it).\n\n`,
  );
}));
logger.info('api listening', { url: api.url, port: config.port });
onShutdown(async () => {
  logger.info('api stopping');
  await api.close();
});
