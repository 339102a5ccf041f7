import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../src/core/config.js';

describe('OPERATIONS_LIST_SCAN_BUDGET is checked at boot', () => {
  test('defaults to 1000 index entries a page; any whole number from 201 (a page of 200 and one more) is taken', () => {
    assert.equal(loadConfig({}).operationsListScanBudget, 1000);
    assert.equal(loadConfig({ OPERATIONS_LIST_SCAN_BUDGET: '201' }).operationsListScanBudget, 201);
    assert.equal(loadConfig({ OPERATIONS_LIST_SCAN_BUDGET: '50000' }).operationsListScanBudget, 50000);
  });

  test('a bad value names the setting and the problem', () => {
    for (const [value, problem] of [['200', /between 201 and 100000/], ['1000000', /between 201 and 100000/], ['lots', /whole number/], ['-5', /whole number/]] as const) {
      assert.throws(
        () => loadConfig({ OPERATIONS_LIST_SCAN_BUDGET: value }),
        (err: unknown) => err instanceof ConfigError && err.setting === 'OPERATIONS_LIST_SCAN_BUDGET' && problem.test(err.message),
        value,
      );
    }
  });
});
