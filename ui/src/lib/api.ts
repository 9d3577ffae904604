// The window's only way out: the app's commands (src-tauri/src/commands.rs),
// typed with the generated bindings. Each rejects with an AppError.

import { invoke } from '@tauri-apps/api/core';
import type {
  DocumentView,
  DocumentsPage,
  EmailSentView,
  FacetsView,
  IdentifiedView,
  IdentifyArgs,
  Lang,
  ListArgs,
  MeView,
  OrganisationView,
  PasswordRules,
  SafeChoiceArgs,
  SessionState,
  SettingsView,
  Startup,
  StatusArgs,
  StatusView,
  SupportArgs,
  ConfirmResetArgs,
} from './bindings';
import { asAppError } from './errors';

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw asAppError(e);
  }
}

export const api = {
  startup: () => call<Startup>('startup'),
  session: () => call<SessionState>('session'),
  passwordRules: () => call<PasswordRules>('password_rules'),
  identify: (args: IdentifyArgs) => call<IdentifiedView>('identify', { args }),
  chooseEmail: (email: string) => call<EmailSentView>('choose_email', { email }),
  verifyEmail: (code: string) => call<null>('verify_email', { code }),
  complete: (choice: SafeChoiceArgs) => call<MeView>('complete', { choice }),
  cancelFinalisation: () => call<null>('cancel_finalisation'),
  signIn: (email: string, password: string) => call<MeView>('sign_in', { email, password }),
  signOut: () => call<null>('sign_out'),
  me: () => call<MeView>('me'),
  requestReset: (email: string) => call<null>('request_reset', { email }),
  confirmReset: (args: ConfirmResetArgs) => call<null>('confirm_reset', { args }),
  support: (args: SupportArgs) => call<number>('support', { args }),
  accountStatus: (args: StatusArgs) => call<StatusView[]>('account_status', { args }),
  documents: (args: ListArgs) => call<DocumentsPage>('documents', { args }),
  facets: () => call<FacetsView>('facets'),
  organisations: () => call<OrganisationView[]>('organisations'),
  openDocument: (id: string) => call<DocumentView>('open_document', { id }),
  documentBytes: (id: string) => call<ArrayBuffer>('document_bytes', { id }),
  saveDocument: (id: string) => call<string | null>('save_document', { id }),
  settings: () => call<SettingsView>('settings'),
  setLanguage: (lang: Lang) => call<SettingsView>('set_language', { lang }),
  setServerUrl: (url: string) => call<SettingsView>('set_server_url', { url }),
  refreshTrust: () => call<SettingsView>('refresh_trust'),
};
