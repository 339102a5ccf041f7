/**
 * Plausible, deterministic usage of a simulated server, shared by the providers' monitoring
 * endpoints: the same server and time always read the same, so a test (or a client paging a
 * range twice) sees stable figures, while different servers and metrics differ. A reading is
 * a daily and an hourly wave with a phase of its own per server and metric, plus a little
 * noise per time bucket; nothing is stored.
 */
import { createHash } from 'node:crypto';

function hashUnit(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0) / 0x1_0000_0000;
}

/**
 * A level between 0 and 1 for one server's metric at `epochSec`: around `base`, swinging by
 * `swing` over the day and the hour. The noise is constant within a minute so that steps of a
 * minute or more read stable values.
 */
export function usageLevel(serverKey: string, metric: string, epochSec: number, base = 0.3, swing = 0.2): number {
  const phase = hashUnit(`${serverKey}|${metric}|phase`) * 2 * Math.PI;
  const daily = Math.sin((2 * Math.PI * epochSec) / 86_400 + phase);
  const hourly = Math.sin((2 * Math.PI * epochSec) / 3_600 + 2 * phase);
  const noise = hashUnit(`${serverKey}|${metric}|${Math.floor(epochSec / 60)}`) - 0.5;
  const level = base + swing * (0.7 * daily + 0.3 * hourly) + 0.1 * noise;
  return Math.min(1, Math.max(0, level));
}

/** The sample times of [start, end] at `step` seconds, aligned to multiples of the step (as monitoring systems do). */
export function sampleTimes(startSec: number, endSec: number, stepSec: number): number[] {
  const times: number[] = [];
  for (let t = Math.ceil(startSec / stepSec) * stepSec; t <= endSec; t += stepSec) times.push(t);
  return times;
}

function smoothIntegral(serverKey: string, metric: string, epochSec: number, base: number, swing: number): number {
  const phase = hashUnit(`${serverKey}|${metric}|phase`) * 2 * Math.PI;
  const wd = (2 * Math.PI) / 86_400;
  const wh = (2 * Math.PI) / 3_600;
  return base * epochSec + swing * ((0.7 * -Math.cos(wd * epochSec + phase)) / wd + (0.3 * -Math.cos(wh * epochSec + 2 * phase)) / wh);
}

/**
 * A counter that grows at `ratePerSecond` × the metric's smooth level (the waves without the
 * noise, so it is a closed form and never shrinks) since `sinceSec` (the boot): what a
 * Prometheus-style counter such as CPU seconds reads at `epochSec`.
 */
export function counterAt(serverKey: string, metric: string, epochSec: number, ratePerSecond: number, sinceSec: number, base = 0.3, swing = 0.2): number {
  if (epochSec <= sinceSec) return 0;
  return ratePerSecond * (smoothIntegral(serverKey, metric, epochSec, base, swing) - smoothIntegral(serverKey, metric, sinceSec, base, swing));
}
