/**
 * The engine's tags as Hetzner labels and back. Hetzner has no tags, only a label map
 * (PROVIDERS.md §2.3), so a tag `key:value` becomes the label `key=value` and a tag without
 * a colon becomes a label with an empty value. Reading labels back reverses that, so the
 * operation marker `pe-op:<id>` (markerTag) travels as the label `pe-op=<id>`, which a
 * label selector can find, and comes back as the same marker tag the engine hides.
 */
import { ErrorCodes, ProviderError } from '../../common/errors.js';

export type Labels = Record<string, string>;

/** Hetzner's rule for a label key's name part and for a non-empty value. */
const LABEL_PART = /^[a-zA-Z0-9]([-_.a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const MAX_LABEL_PART = 63;

/** The label a tag becomes: split at the first colon. */
export function tagToLabel(tag: string): [key: string, value: string] {
  const colon = tag.indexOf(':');
  return colon < 0 ? [tag, ''] : [tag.slice(0, colon), tag.slice(colon + 1)];
}

export function labelsToTags(labels: Labels | null | undefined): string[] {
  return Object.entries(labels ?? {}).map(([key, value]) => (value === '' ? key : `${key}:${value}`));
}

/** Why each tag cannot be a Hetzner label, one sentence per problem; empty when all can. */
export function tagProblems(tags: readonly string[]): string[] {
  const problems: string[] = [];
  const tagByKey = new Map<string, string>();
  for (const tag of tags) {
    const [key, value] = tagToLabel(tag);
    if (!isLabelPart(key)) {
      problems.push(
        `tag '${tag}' cannot be a Hetzner label: the key '${key}' must be 1-${MAX_LABEL_PART} characters that start and end with a letter or digit`,
      );
    } else if (value !== '' && !isLabelPart(value)) {
      problems.push(
        `tag '${tag}' cannot be a Hetzner label: the value '${value}' may hold only letters, digits, '-', '_' and '.', starting and ending with a letter or digit`,
      );
    }
    const earlier = tagByKey.get(key);
    if (earlier !== undefined && earlier !== tag) {
      problems.push(`tags '${earlier}' and '${tag}' would both set the Hetzner label '${key}'`);
    }
    tagByKey.set(key, tag);
  }
  return problems;
}

/** The labels for `tags`; throws PROVIDER_REJECTED naming every tag Hetzner could not hold. */
export function tagsToLabels(tags: readonly string[]): Labels {
  const problems = tagProblems(tags);
  if (problems.length > 0) {
    throw new ProviderError({
      provider: 'hetzner',
      code: ErrorCodes.PROVIDER_REJECTED,
      retryable: false,
      message: `hetzner: ${problems.join('; ')}`,
    });
  }
  return Object.fromEntries(tags.map(tagToLabel));
}

function isLabelPart(text: string): boolean {
  return text.length <= MAX_LABEL_PART && LABEL_PART.test(text);
}
