export { freePort } from '../../src/supervisor/free-port.js';
