/**
 * Runs beside a chaos run, connected to it by an IPC channel. The run tells it which process
 * ids it started (`{watch: pid}`, `{unwatch: pid}`); when the channel closes because the run
 * ended in any way, even SIGKILL, it kills every process still on its list and exits. So no
 * redis-server, API or worker outlives the run that started it.
 */
const watched = new Set<number>();

process.on('message', (message: { watch?: number; unwatch?: number }) => {
  if (typeof message.watch === 'number') watched.add(message.watch);
  if (typeof message.unwatch === 'number') watched.delete(message.unwatch);
});

process.on('disconnect', () => {
  for (const pid of watched) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  process.exit(0);
});

process.send?.({ ready: true });
