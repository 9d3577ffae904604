// Looking a message up in a catalogue and filling its placeholders: pure,
// so that it is tested without a window.

import { fr, type MessageKey } from './fr';
import { en } from './en';
import type { Lang } from '../bindings';

export const catalogues: Record<Lang, Record<MessageKey, string>> = { fr, en };

export type Params = Record<string, string | number>;

/** The message `key` in `lang`, with `{name}` placeholders filled. */
export function translate(lang: Lang, key: MessageKey, params: Params = {}): string {
  const text = catalogues[lang][key] ?? fr[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}

/** The placeholders a message uses, sorted: both languages must agree. */
export function placeholders(text: string): string[] {
  return [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? '').sort();
}

/** The language to start in: the student's choice, else the system's. */
export function initialLang(chosen: boolean, saved: Lang, system: readonly string[]): Lang {
  if (chosen) return saved;
  for (const tag of system) {
    const base = tag.toLowerCase().split('-')[0];
    if (base === 'fr') return 'fr';
    if (base === 'en') return 'en';
  }
  return 'fr';
}
