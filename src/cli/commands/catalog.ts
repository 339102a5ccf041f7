import type { Command } from 'commander';
import type { ProviderAnswer } from '../../core/catalog.js';
import type { CatalogImage, CatalogPlan, CatalogRegion } from '../../common/provider.js';
import { withOutput } from '../context.js';
import { parsePositiveInt } from '../durations.js';
import { emit, paint, table } from '../output.js';
import { action } from '../run.js';

/** How each provider answered, beside the entries. */
type ProviderAnswers = Record<string, ProviderAnswer>;

/** Providers whose catalogue could not be read, said beside the answer (on stderr). */
function warnProviders(providers: ProviderAnswers | undefined): void {
  for (const [name, p] of Object.entries(providers ?? {})) {
    if (p.status !== 'ok') process.stderr.write(paint(`pe: ${name}: catalogue unavailable (${p.error ?? 'error'})\n`, 'yellow', process.stderr));
  }
}

function money(amount: number | undefined, currency: string | undefined, digits: number): string {
  if (amount === undefined || amount === null) return '-';
  const symbol = currency === 'USD' || !currency ? '$' : currency === 'EUR' ? '€' : `${currency} `;
  return `${symbol}${amount.toFixed(digits)}`;
}

export function registerCatalog(program: Command): void {
  const catalog = program.command('catalog').description("what the providers offer: plans with prices, regions, images");

  withOutput(
    catalog
      .command('plans')
      .description('plans with prices, cheapest first')
      .option('--provider <name>', 'only this provider')
      .option('--vcpus <n>', 'only plans with exactly this many vCPUs', parsePositiveInt)
      .option('--memory <mb>', 'only plans with exactly this much memory, in MB', parsePositiveInt)
      .option('--region <id>', 'only plans offered in this region'),
  ).action(
    action(async (ctx) => {
      const o = ctx.opts;
      const body = (await ctx.client.get<{ plans: CatalogPlan[]; providers: ProviderAnswers }>('/v1/catalog/plans', { provider: o.provider, vcpus: o.vcpus, memory_mb: o.memory, region: o.region })).body;
      // The API filters; so do we, in case an older API ignores a parameter.
      body.plans = (body.plans ?? []).filter((p) => (o.vcpus === undefined || p.vcpus === o.vcpus) && (o.memory === undefined || p.memory_mb === o.memory));
      warnProviders(body.providers);
      emit(ctx.format, body, () =>
        body.plans.length
          ? table(body.plans, [
              { header: 'PROVIDER', value: (p) => p.provider },
              { header: 'PLAN', value: (p) => p.id },
              { header: 'VCPUS', value: (p) => p.vcpus, align: 'right' },
              { header: 'MEMORY', value: (p) => (p.memory_mb >= 1024 ? `${+(p.memory_mb / 1024).toFixed(1)} GB` : `${p.memory_mb} MB`), align: 'right' },
              { header: 'DISK', value: (p) => (p.disk_gb !== undefined ? `${p.disk_gb} GB` : '-'), align: 'right' },
              { header: 'PER MONTH', value: (p) => money(p.price_monthly, p.currency, 2), align: 'right' },
              { header: 'PER HOUR', value: (p) => money(p.price_hourly, p.currency, 4), align: 'right' },
              { header: 'REGIONS', value: (p) => (p.regions && p.regions.length > 6 ? `${p.regions.slice(0, 6).join(',')},… (${p.regions.length})` : p.regions) },
            ])
          : 'no plans match\n',
      );
    }),
  );

  withOutput(catalog.command('regions').description('regions / locations / zones').option('--provider <name>', 'only this provider')).action(
    action(async (ctx) => {
      const body = (await ctx.client.get<{ regions: CatalogRegion[]; providers: ProviderAnswers }>('/v1/catalog/regions', { provider: ctx.opts.provider })).body;
      warnProviders(body.providers);
      emit(ctx.format, body, () =>
        table(body.regions ?? [], [
          { header: 'PROVIDER', value: (r) => r.provider },
          { header: 'REGION', value: (r) => r.id },
          { header: 'NAME', value: (r) => r.name },
          { header: 'COUNTRY', value: (r) => r.country },
          { header: 'AVAILABLE', value: (r) => (r.available === undefined ? '-' : r.available ? 'yes' : 'no') },
        ]),
      );
    }),
  );

  withOutput(catalog.command('images').description('images').option('--provider <name>', 'only this provider')).action(
    action(async (ctx) => {
      const body = (await ctx.client.get<{ images: CatalogImage[]; providers: ProviderAnswers }>('/v1/catalog/images', { provider: ctx.opts.provider })).body;
      warnProviders(body.providers);
      emit(ctx.format, body, () =>
        table(body.images ?? [], [
          { header: 'PROVIDER', value: (r) => r.provider },
          { header: 'IMAGE', value: (r) => r.id },
          { header: 'NAME', value: (r) => r.name },
          { header: 'DISTRIBUTION', value: (r) => r.distribution },
        ]),
      );
    }),
  );
}
