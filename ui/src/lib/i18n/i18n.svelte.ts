// The language of the window, as a rune: every component reads `t()`.

import type { Lang } from '../bindings';
import type { MessageKey } from './fr';
import { translate, type Params } from './translate';

let current = $state<Lang>('fr');

export const i18n = {
  get lang(): Lang {
    return current;
  },
  set lang(lang: Lang) {
    current = lang;
    if (typeof document !== 'undefined') document.documentElement.lang = lang;
  },
};

export function t(key: MessageKey, params?: Params): string {
  return translate(current, key, params);
}
