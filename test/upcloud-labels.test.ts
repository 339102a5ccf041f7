import assert from 'node:assert/strict';
import { test } from 'node:test';
import { labelsForTags, tagsFromLabels } from '../src/providers/upcloud/labels.js';

const VALID_KEY = /^[a-zA-Z0-9][a-zA-Z0-9_-]{1,31}$/;

test('the marker is the first label and reads back as pe-op:<id>', () => {
  const labels = labelsForTags([], 'op-123');
  assert.deepEqual(labels, [{ key: 'pe-op', value: 'op-123' }]);
  assert.deepEqual(tagsFromLabels(labels), ['pe-op:op-123']);
});

test('tags that fit a label key become plain labels', () => {
  assert.deepEqual(labelsForTags(['env:prod', 'web', 'ab:c:d', 'a:b'], 'op').slice(1), [
    { key: 'env', value: 'prod' },
    { key: 'web', value: '' },
    { key: 'ab', value: 'c:d' },
    // A one-character key is too short for UpCloud.
    { key: 'pe-tag-1', value: 'a:b' },
  ]);
});

test('tags that do not fit, or whose key is taken, go to spare labels and still round-trip', () => {
  const tags = ['env:a', 'env:b', 'x', '_x', 'pe-op', 'pe-tag-1', 'k:', 'y'.repeat(40), 'ok'];
  const labels = labelsForTags(tags, 'op');
  for (const { key } of labels) assert.match(key, VALID_KEY);
  assert.equal(new Set(labels.map((l) => l.key)).size, labels.length, 'no key is used twice');
  assert.deepEqual(tagsFromLabels(labels).sort(), [...tags, 'pe-op:op'].sort());
  assert.ok(labels.some((l) => l.key === 'pe-tag-1' && l.value === 'env:b'));
});

test('the marker passed again as a tag, and repeated tags, appear once', () => {
  const labels = labelsForTags(['pe-op:op', 'web', 'web'], 'op');
  assert.deepEqual(tagsFromLabels(labels), ['pe-op:op', 'web']);
});

test('labels set outside the engine read as key or key:value tags', () => {
  assert.deepEqual(tagsFromLabels([{ key: 'managedBy', value: 'me' }, { key: 'solo', value: '' }]), ['managedBy:me', 'solo']);
});
