import { bashScript, defineTaskserv, say, shQuote } from '../definition.js';

interface HelloConfig {
  version: string;
  message: string;
  path: string;
  delay_seconds: number;
}

/**
 * A harmless service for trying the whole path (and for tests): it writes one file under
 * /tmp and touches nothing else. `delay_seconds` makes it take a while, to watch or cancel.
 */
export const hello = defineTaskserv<HelloConfig>({
  name: 'hello',
  description: 'Writes a greeting to a file under /tmp; changes nothing else on the server',
  version: '1.0',
  parameters: {
    type: 'object',
    additionalProperties: false,
    properties: {
      version: { type: 'string', enum: ['1.0'], default: '1.0' },
      message: { type: 'string', pattern: '^[A-Za-z0-9 .,:;!?_+=@#%/-]{1,200}$', default: 'hello from the provisioning engine' },
      path: { type: 'string', pattern: '^/tmp/(?!.*\\.\\.)[A-Za-z0-9._/-]{1,200}$', default: '/tmp/pe-hello.txt', description: 'A file under /tmp' },
      delay_seconds: { type: 'integer', minimum: 0, maximum: 3600, default: 0, description: 'Wait this long before writing' },
    },
  },
  install: (c) =>
    bashScript(`hello ${c.version}: install`, [
      say(`hello ${c.version}: writing ${c.path}`),
      ...(c.delay_seconds > 0 ? [`sleep ${c.delay_seconds}`] : []),
      `mkdir -p "$(dirname ${shQuote(c.path)})"`,
      // Written aside and renamed, so the file is never seen half-written.
      `printf '%s\\n' ${shQuote(c.message)} > ${shQuote(`${c.path}.tmp`)}`,
      `mv -f ${shQuote(`${c.path}.tmp`)} ${shQuote(c.path)}`,
      say(`hello ${c.version}: wrote ${c.path}`),
    ]),
  remove: (c) => bashScript(`hello ${c.version}: remove`, [`rm -f ${shQuote(c.path)}`, say(`hello: removed ${c.path}`)]),
});
