import { describe, expect, it } from 'vitest';
import { formatBytes, formatDate, formatNumber, waitParts } from './format';

// Intl may use a narrow no-break space between number and unit.
const plain = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');

describe('format', () => {
  it('writes sizes as each language does', () => {
    expect(plain(formatBytes(1_200_000_000, 'fr'))).toBe('1,2 Go');
    expect(plain(formatBytes(1_200_000_000, 'en'))).toBe('1.2 GB');
    expect(plain(formatBytes(3_000_000_000, 'fr'))).toBe('3 Go');
    expect(plain(formatBytes(118_500, 'fr'))).toBe('119 ko');
    expect(plain(formatBytes(999, 'en'))).toBe('999 bytes');
    expect(plain(formatBytes(512, 'fr'))).toBe('512 octets');
  });

  it('writes numbers and dates through Intl', () => {
    expect(plain(formatNumber(10000, 'fr'))).toBe('10 000');
    expect(formatNumber(10000, 'en')).toBe('10,000');
    expect(formatDate(1_800_000_000, 'fr', true, 'UTC')).toBe('15 janvier 2027');
    expect(formatDate(1_800_000_000, 'en', true, 'UTC')).toBe('15 January 2027');
  });

  it('says waits in words', () => {
    expect(waitParts(1)).toEqual({ key: 'wait.moment', n: 0 });
    expect(waitParts(42)).toEqual({ key: 'wait.seconds', n: 42 });
    expect(waitParts(900)).toEqual({ key: 'wait.minutes', n: 15 });
    expect(waitParts(86_400)).toEqual({ key: 'wait.hours', n: 24 });
  });
});
