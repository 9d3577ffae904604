import { describe, expect, it } from 'vitest';
import { fr } from './fr';
import { en } from './en';
import { initialLang, placeholders, translate } from './translate';

describe('catalogues', () => {
  it('have the same keys', () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(fr).sort());
  });

  it('have no empty message', () => {
    for (const [k, v] of [...Object.entries(fr), ...Object.entries(en)]) {
      expect(v.trim(), k).not.toBe('');
    }
  });

  it('use the same placeholders in both languages', () => {
    for (const key of Object.keys(fr) as (keyof typeof fr)[]) {
      expect(placeholders(en[key]), key).toEqual(placeholders(fr[key]));
    }
  });

  it('keep the procedure’s own words', () => {
    expect(fr['wizard.step1']).toBe('Identifiez-vous');
    expect(fr['wizard.step2']).toBe('Vérifiez votre adresse e-mail');
    expect(fr['wizard.step3']).toBe('Associez votre coffre');
    expect(fr['wizard.haveSafe']).toBe('Avez-vous déjà un coffre ?');
    expect(fr['wizard.activated']).toBe('Votre compte est activé.');
  });
});

describe('translate', () => {
  it('fills placeholders and leaves unknown ones', () => {
    expect(translate('fr', 'wizard.hello', { name: 'Camille Dupont' })).toBe('Bonjour Camille Dupont');
    expect(translate('en', 'wizard.hello', { name: 'Łukasz Żółć' })).toBe('Hello Łukasz Żółć');
    expect(translate('en', 'wizard.hello')).toBe('Hello {name}');
  });

  it('starts in the chosen language, else the system’s, else French', () => {
    expect(initialLang(true, 'en', ['fr-FR'])).toBe('en');
    expect(initialLang(false, 'fr', ['en-US', 'fr'])).toBe('en');
    expect(initialLang(false, 'en', ['de-DE'])).toBe('fr');
  });
});
