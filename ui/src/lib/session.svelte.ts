// What the whole window knows: who is signed in, where the session is
// kept, the settings.

import type { KeyringState, MeView, PasswordRules, SettingsView } from './bindings';

export const session = $state<{
  me: MeView | null;
  keyring: KeyringState;
  settings: SettingsView | null;
  rules: PasswordRules;
  offline: boolean;
}>({
  me: null,
  keyring: { kind: 'probing' },
  settings: null,
  rules: { minChars: 10, maxBytes: 1024 },
  offline: false,
});
