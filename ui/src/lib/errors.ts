// An error from the app ({code, message}) as a sentence in the student's
// language that says what to do next. Picked by code, never by message.

import type { AppError, Lang } from './bindings';
import { fr, type MessageKey } from './i18n/fr';
import { translate } from './i18n/translate';
import { waitParts } from './format';

export function isAppError(e: unknown): e is AppError {
  return typeof e === 'object' && e !== null && 'code' in e && 'message' in e;
}

/** Anything a command rejected with, as an AppError. */
export function asAppError(e: unknown): AppError {
  if (isAppError(e)) return e;
  return { code: 'internal', message: String(e), retryAfter: null, requestId: null };
}

export function describe(e: AppError, lang: Lang): string {
  if (e.code === 'too_many_attempts') {
    if (e.retryAfter === null) return translate(lang, 'error.too_many_attempts_code');
    const w = waitParts(e.retryAfter);
    return translate(lang, 'error.too_many_attempts', { wait: translate(lang, w.key, { n: w.n }) });
  }
  if (e.code === 'invalid_request') {
    return translate(lang, 'error.invalid_request', { detail: e.message });
  }
  const key = `error.${e.code}` as MessageKey;
  if (key in fr) return translate(lang, key);
  return translate(lang, 'error.unknown', { code: e.code });
}
