import { describe, expect, it } from 'vitest';
import {
  checkActivationCode,
  checkDate,
  checkEmail,
  checkEmailCode,
  checkNewPassword,
  checkStudentNumber,
  next,
  normaliseActivationCode,
  strength,
  toIsoDate,
} from './wizard';
import { describe as describeError } from './errors';

const rules = { minChars: 10, maxBytes: 1024 };

describe('the wizard', () => {
  it('goes through its three steps', () => {
    expect(next(1)).toBe(2);
    expect(next(2)).toBe(3);
    expect(next(3)).toBe('done');
  });

  it('checks each field before sending', () => {
    expect(checkStudentNumber('  ')).toBe('form.required');
    expect(checkStudentNumber('20250001')).toBeNull();
    expect(normaliseActivationCode(' abcd-efgh jkLM ')).toBe('ABCDEFGHJKLM');
    expect(checkActivationCode('--')).toBe('form.required');
    expect(checkEmail('camille@example.org')).toBeNull();
    expect(checkEmail('camille@')).toBe('form.invalidEmail');
    expect(checkEmailCode('12 34 56')).toBeNull();
    expect(checkEmailCode('12345')).toBe('wizard.emailCodeHelp');
    expect(checkDate('2004-09-17')).toBeNull();
    expect(checkDate('17/09/2004')).toBeNull();
    expect(checkDate('31/02/2004')).toBe('form.invalidDate');
    expect(checkDate('2004/09/17')).toBe('form.invalidDate');
    expect(toIsoDate(' 7.9.2004 ')).toBe('2004-09-07');
    expect(toIsoDate('2004-9-7')).toBe('2004-09-07');
  });

  it('shows the password rules before, and checks them', () => {
    expect(checkNewPassword('short', 'short', rules)).toBe('wizard.passwordTooShort');
    expect(checkNewPassword('a long enough one', 'a long enough two', rules)).toBe('wizard.passwordsDiffer');
    expect(checkNewPassword('a long enough one', 'a long enough one', rules)).toBeNull();
    expect(checkNewPassword('é'.repeat(600), 'é'.repeat(600), rules)).toBe('wizard.passwordTooShort');
  });

  it('rates passwords from too short to excellent', () => {
    expect(strength('abc', rules)).toBe(0);
    expect(strength('aaaaaaaaaaaa', rules)).toBe(1);
    expect(strength('1234567890ab', rules)).toBe(1);
    expect(strength('lapinbleu42', rules)).toBe(1);
    expect(strength('Lapin bleu 42!', rules)).toBeGreaterThanOrEqual(2);
    expect(strength('correct horse battery staple', rules)).toBeGreaterThanOrEqual(3);
    expect(strength('Correct horse battery staple 9!', rules)).toBe(4);
  });
});

describe('errors', () => {
  const e = (code: string, retryAfter: number | null = null) => ({
    code,
    message: 'm',
    retryAfter,
    requestId: null,
  });

  it('become sentences that say what to do, by code', () => {
    expect(describeError(e('wrong_code'), 'fr')).toContain('Vérifiez-le');
    expect(describeError(e('offline'), 'en')).toContain('cannot be reached');
    expect(describeError(e('too_many_attempts', 42), 'fr')).toBe(
      'Trop d’essais. Attendez 42 secondes avant de réessayer.',
    );
    expect(describeError(e('too_many_attempts'), 'en')).toContain('Ask for a new one');
    expect(describeError(e('something_new'), 'en')).toContain('something_new');
  });
});
