// The finalisation wizard's rules, without a window: what each step
// needs before it may be sent, and where the wizard goes next.

import type { PasswordRules } from './bindings';
import type { MessageKey } from './i18n/fr';

export type Step = 1 | 2 | 3 | 'done';

/** The field's problem, as a message key, or null when it may be sent. */
export type Check = MessageKey | null;

export function checkStudentNumber(s: string): Check {
  const v = s.trim();
  if (v === '') return 'form.required';
  return null;
}

/** Activation codes are 12 letters and digits; dashes and case do not matter. */
export function normaliseActivationCode(s: string): string {
  return s.replace(/[^0-9a-z]/gi, '').toUpperCase();
}

export function checkActivationCode(s: string): Check {
  if (normaliseActivationCode(s) === '') return 'form.required';
  return null;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function checkEmail(s: string): Check {
  const v = s.trim();
  if (v === '') return 'form.required';
  if (!EMAIL.test(v) || v.length > 254) return 'form.invalidEmail';
  return null;
}

export function checkEmailCode(s: string): Check {
  const v = s.replace(/\s/g, '');
  if (v === '') return 'form.required';
  if (!/^\d{6}$/.test(v)) return 'wizard.emailCodeHelp';
  return null;
}

export function checkNewPassword(p: string, confirm: string, rules: PasswordRules): Check {
  if (p === '') return 'form.required';
  if ([...p].length < rules.minChars) return 'wizard.passwordTooShort';
  if (new TextEncoder().encode(p).length > rules.maxBytes) return 'wizard.passwordTooShort';
  if (p !== confirm) return 'wizard.passwordsDiffer';
  return null;
}

/** A date as a person types it (17/09/2004, 17.09.2004, or 2004-09-17)
 * as the server takes it (2004-09-17); null when it is no real date. */
export function toIsoDate(s: string): string | null {
  const v = s.trim();
  let y: number, m: number, d: number;
  const iso = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(v);
  const dmy = /^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$/.exec(v);
  if (iso) [y, m, d] = [Number(iso[1]), Number(iso[2]), Number(iso[3])];
  else if (dmy) [d, m, y] = [Number(dmy[1]), Number(dmy[2]), Number(dmy[3])];
  else return null;
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return null;
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

export function checkDate(s: string): Check {
  if (s.trim() === '') return 'form.required';
  return toIsoDate(s) === null ? 'form.invalidDate' : null;
}

/** How strong a password looks, 0 (too short) to 4: length first, then variety. */
export function strength(p: string, rules: PasswordRules): 0 | 1 | 2 | 3 | 4 {
  const length = [...p].length;
  if (length < rules.minChars) return 0;
  const classes = [/[a-z]/, /[A-Z]/, /\d/, /[^a-zA-Z\d]/].filter((r) => r.test(p)).length;
  const words = p.trim().split(/\s+/).length;
  const repeated = /^(.)\1*$/.test(p) || /^(?:0123|1234|abcd|azerty|qwerty|password|motdepasse)/i.test(p);
  if (repeated) return 1;
  let score = 1;
  if (length >= 14) score += 1;
  if (length >= 20 || words >= 4) score += 1;
  if (classes >= 3) score += 1;
  return Math.min(score, 4) as 0 | 1 | 2 | 3 | 4;
}

/** The step after a successful one. */
export function next(step: Step): Step {
  switch (step) {
    case 1:
      return 2;
    case 2:
      return 3;
    default:
      return 'done';
  }
}
