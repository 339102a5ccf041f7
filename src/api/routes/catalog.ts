import type { Catalog } from '../../core/catalog.js';
import type { RouteMounter } from '../route.js';
import { catalogAnswer, catalogQuery, imageSchema, planSchema, regionSchema } from '../schemas/catalog.js';

export function catalogRoutes(route: RouteMounter, catalog: Catalog): void {
  route({
    method: 'GET', path: '/v1/catalog/plans', operationId: 'listPlans', tag: 'catalog', summary: 'Plans of every configured provider with prices, cheapest first',
    description: 'Read through the catalogue cache; `providers` says how each provider answered (fresh, cached, or its error).',
    permission: 'catalog_read', query: catalogQuery,
    responses: { 200: { description: 'Plans, and how each provider answered', schema: catalogAnswer('plans', planSchema) } },
    handler: async ({ query }) => {
      const { items, providers } = await catalog.list('plans', query.provider);
      const plans = items
        .filter((p) => (query.vcpus === undefined || p.vcpus === query.vcpus) && (query.memory_mb === undefined || p.memory_mb === query.memory_mb))
        .filter((p) => query.region === undefined || p.regions.length === 0 || p.regions.includes(query.region))
        .sort((a, b) => a.price_monthly - b.price_monthly || a.provider.localeCompare(b.provider));
      return { status: 200, body: { plans, providers } };
    },
  });

  route({
    method: 'GET', path: '/v1/catalog/regions', operationId: 'listRegions', tag: 'catalog', summary: 'Regions / locations / zones of every configured provider',
    description: 'Read through the catalogue cache; `providers` says how each provider answered (fresh, cached, or its error).',
    permission: 'catalog_read', query: catalogQuery,
    responses: { 200: { description: 'Regions, and how each provider answered', schema: catalogAnswer('regions', regionSchema) } },
    handler: async ({ query }) => {
      const { items, providers } = await catalog.list('regions', query.provider);
      return { status: 200, body: { regions: items, providers } };
    },
  });

  route({
    method: 'GET', path: '/v1/catalog/images', operationId: 'listImages', tag: 'catalog', summary: 'Images of every configured provider',
    description: 'Read through the catalogue cache; `providers` says how each provider answered (fresh, cached, or its error).',
    permission: 'catalog_read', query: catalogQuery,
    responses: { 200: { description: 'Images, and how each provider answered', schema: catalogAnswer('images', imageSchema) } },
    handler: async ({ query }) => {
      const { items, providers } = await catalog.list('images', query.provider);
      return { status: 200, body: { images: items, providers } };
    },
  });
}
