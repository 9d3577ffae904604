// Numbers, sizes and dates as a person reads them, in the app's language
// (through Intl: "1,2 Go" in French, "1.2 GB" in English).

import type { Lang } from './bindings';

const locales: Record<Lang, string> = { fr: 'fr-FR', en: 'en-GB' };

export function formatNumber(n: number, lang: Lang): string {
  return new Intl.NumberFormat(locales[lang]).format(n);
}

/** Decimal units, as the quota is counted (3 GB = 3,000,000,000 bytes). */
export function formatBytes(bytes: number, lang: Lang): string {
  const units = ['byte', 'kilobyte', 'megabyte', 'gigabyte', 'terabyte'] as const;
  let value = Math.max(0, bytes);
  let i = 0;
  while (value >= 1000 && i < units.length - 1) {
    value /= 1000;
    i += 1;
  }
  return new Intl.NumberFormat(locales[lang], {
    style: 'unit',
    unit: units[i],
    // "999 bytes" rather than "999 byte"; "1,2 Go" for the rest.
    unitDisplay: i === 0 ? 'long' : 'short',
    maximumFractionDigits: i === 0 || value >= 100 ? 0 : 1,
  }).format(value);
}

/** A Unix time (seconds) as a date, with the time unless `dateOnly`. */
export function formatDate(seconds: number, lang: Lang, dateOnly = false, timeZone?: string): string {
  return new Intl.DateTimeFormat(locales[lang], {
    dateStyle: 'long',
    ...(dateOnly ? {} : { timeStyle: 'short' }),
    ...(timeZone ? { timeZone } : {}),
  }).format(new Date(seconds * 1000));
}

/** A wait in seconds as words: the key and its number. */
export function waitParts(seconds: number): { key: 'wait.seconds' | 'wait.minutes' | 'wait.hours' | 'wait.moment'; n: number } {
  if (seconds <= 1) return { key: 'wait.moment', n: 0 };
  if (seconds < 120) return { key: 'wait.seconds', n: seconds };
  if (seconds < 2 * 3600) return { key: 'wait.minutes', n: Math.ceil(seconds / 60) };
  return { key: 'wait.hours', n: Math.ceil(seconds / 3600) };
}
