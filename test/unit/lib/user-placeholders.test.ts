import { describe, expect, test } from 'bun:test';
import { replaceUserPlaceholders } from '../../../src/lib/user-placeholders.ts';

describe('%username% and %role%', () => {
  test('replaced everywhere in one pass; no role gives ""', () => {
    expect(replaceUserPlaceholders('/srv/%role%/%username%/in/%username%', { username: 'bob', role: 'eu' })).toBe('/srv/eu/bob/in/bob');
    expect(replaceUserPlaceholders('/srv/%role%/%username%', { username: 'bob' })).toBe('/srv//bob');
    // A value that itself looks like a placeholder is not expanded again.
    expect(replaceUserPlaceholders('%username%', { username: '%role%', role: 'eu' })).toBe('%role%');
    expect(replaceUserPlaceholders('/plain/%other%', { username: 'bob', role: 'eu' })).toBe('/plain/%other%');
  });
});
