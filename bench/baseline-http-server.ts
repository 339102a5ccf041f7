/**
 * The HTTP baseline: a bare Express app with `express.json()` and one route per measured
 * call, answering a small fixed object without touching Redis. Run as its own process so it
 * gets the same CPU share the API gets. Prints `BASELINE_HTTP_READY {"url":…}`.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';

const app = express();
app.use(express.json());

app.post('/v1/servers/create', (req, res) => {
  const body = req.body as { hostname?: string };
  res.status(202).json({ id: 'baseline', status: 'pending', hostname: body.hostname ?? null });
});

app.get('/v1/operations/:id', (req, res) => {
  res.status(200).json({ id: req.params.id, status: 'pending' });
});

const server = app.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`BASELINE_HTTP_READY ${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
});
server.keepAliveTimeout = 65000;

const stop = (): void => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
