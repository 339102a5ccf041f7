/** What `GET /state` reports of this API process: CPU, memory, uptime, request counters, last restart. */
import type { RequestRates } from './request-rates.js';

export interface ProcessState {
  cpu_percent: number;
  memory_mb: number;
  uptime_seconds: number;
  requests_total: number;
  errors_total: number;
  requests_per_minute: number;
  errors_last_hour: number;
  last_restart: string;
  status: 'active';
}

/** CPU used since the previous reading (since start for the first), as a percentage of one core. */
export class CpuMeter {
  private last = { at: performance.now() - process.uptime() * 1000, usage: { user: 0, system: 0 } };

  percent(): number {
    const now = { at: performance.now(), usage: process.cpuUsage() };
    const cpuMs = (now.usage.user - this.last.usage.user + now.usage.system - this.last.usage.system) / 1000;
    const wallMs = Math.max(1, now.at - this.last.at);
    this.last = now;
    return Math.round((cpuMs / wallMs) * 1000) / 10;
  }
}

export async function processState(cpu: CpuMeter, rates: RequestRates): Promise<ProcessState> {
  const counts = await rates.now();
  const startedAt = Date.now() - process.uptime() * 1000;
  return {
    cpu_percent: cpu.percent(),
    memory_mb: Math.round((process.memoryUsage.rss() / 1048576) * 100) / 100,
    uptime_seconds: Math.floor(process.uptime()),
    requests_total: counts.requestsTotal,
    errors_total: counts.errorsTotal,
    requests_per_minute: counts.requestsPerMinute,
    errors_last_hour: counts.errorsLastHour,
    last_restart: new Date(Math.floor(startedAt / 1000) * 1000).toISOString().replace('.000Z', 'Z'),
    status: 'active',
  };
}
