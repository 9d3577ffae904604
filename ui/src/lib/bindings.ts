// Generated from crates/app/src/view.rs by `COFFRE_BLESS=1 cargo test -p coffre-app`;
// do not edit: a test fails when this file and the Rust types differ.

export type Lang = "fr" | "en";

export type Startup = { settings: SettingsView, 
/**
 * Where the session token is kept.
 */
keyring: KeyringState, };

export type KeyringState = { "kind": "probing" } | { "kind": "available", store: string, } | { "kind": "memoryOnly", reason: string, };

export type SettingsView = { lang: Lang, 
/**
 * Whether the student chose the language (else the system's is used).
 */
langChosen: boolean, serverUrl: string, 
/**
 * `COFFRE_SERVER_URL` decides, not the setting.
 */
serverUrlFromEnv: boolean, anchors: Array<AnchorView>, 
/**
 * When the revocation lists were last fetched, if ever.
 */
crlsFetchedAt: number | null, 
/**
 * The server last offered a root other than the trusted one: refused.
 */
trustChanged: boolean, };

export type AnchorView = { subject: string, 
/**
 * SHA-256 of the certificate, in groups of four hex digits.
 */
fingerprint: string, notAfter: number, 
/**
 * Shipped with the app, or pinned on first contact with the server.
 */
source: AnchorSource, };

export type AnchorSource = "bundled" | "pinned";

export type MeView = { email: string, firstName: string, lastName: string, initials: string, usedBytes: number, quotaBytes: number, };

export type SessionState = { "kind": "signedOut" } | { "kind": "signedIn", me: MeView, } | { "kind": "offline", email: string | null, };

export type PasswordRules = { minChars: number, maxBytes: number, };

export type IdentifyArgs = { studentNumber: string, activationCode: string, };

export type IdentifiedView = { firstName: string, lastName: string, organisation: string, };

export type EmailSentView = { email: string, 
/**
 * The address looks like a work one: the seed's warning is shown.
 */
workLike: boolean, expiresIn: number, };

export type SafeChoiceArgs = { "choice": "existing", email: string, password: string, } | { "choice": "new", password: string, };

export type ConfirmResetArgs = { email: string, code: string, newPassword: string, };

export type SupportArgs = { lastName: string, firstName: string, 
/**
 * `YYYY-MM-DD`.
 */
birthDate: string, university: string, studentNumber: string, possibleEmails: Array<string>, message: string, };

export type StatusArgs = { studentNumber: string, lastName: string, birthDate: string, };

export type StatusView = { organisation: string | null, status: AccountStateView, maskedEmail: string | null, former: boolean, };

export type AccountStateView = "not_provisioned" | "pre_created" | "refused" | "finalised";

export type Kind = "transcript" | "certificate_of_achievement" | "diploma" | "identity" | "invoice" | "other";

export type Sort = "newest" | "oldest" | "title";

export type ListArgs = { organisation: string | null, kind: Kind | null, year: string | null, q: string | null, sort: Sort | null, page: number, perPage: number, };

export type DocumentRow = { id: string, title: string, kind: Kind, 
/**
 * `None` for the student's own file.
 */
organisation: string | null, academicYear: string | null, size: number, createdAt: number, 
/**
 * A sealed original deposited by an organisation.
 */
sealed: boolean, };

export type DocumentsPage = { documents: Array<DocumentRow>, total: number, page: number, perPage: number, };

export type FacetsView = { organisations: Array<FacetView>, kinds: Array<FacetView>, years: Array<FacetView>, personal: number, };

export type FacetView = { value: string, count: number, };

export type OrganisationView = { name: string, current: boolean, documents: number, };

export type DocumentView = { document: DocumentRow, 
/**
 * The certificate of originality, validated here, offline.
 */
seal: SealView, };

export type Verdict = "passed" | "indeterminate" | "failed" | "no_seal";

export type SealView = { verdict: Verdict, 
/**
 * `TOTAL_PASSED`, `INDETERMINATE`, `TOTAL_FAILED` or `NO_SIGNATURE`.
 */
indication: string, 
/**
 * The ETSI EN 319 102-1 sub-indication (`HASH_FAILURE`, …).
 */
reason: string | null, 
/**
 * The sealing organisation.
 */
issuer: string | null, 
/**
 * The seal certificate's common name and serial.
 */
certificate: string | null, serial: string | null, 
/**
 * When it was sealed: the time-stamp's time, else the claimed one.
 */
sealedAt: number | null, 
/**
 * A valid time-stamp proves `sealed_at`.
 */
timestamped: boolean, 
/**
 * Something that changes what the document shows came after sealing.
 */
changedAfterSealing: boolean, 
/**
 * Only validation data was added after sealing (or nothing).
 */
coversWholeDocument: boolean, 
/**
 * The chain up to the anchor, leaf first.
 */
chain: Array<string>, 
/**
 * The issue date of the newest revocation list used, if any.
 */
revocationDate: number | null, revocationChecked: boolean, 
/**
 * When this check ran (here, now).
 */
checkedAt: number, 
/**
 * The validator's details, in English.
 */
details: Array<string>, };

export type AppError = { code: string, message: string, 
/**
 * Seconds to wait before trying again, when the server said.
 */
retryAfter: number | null, 
/**
 * The server's id for the request, to quote to the help desk.
 */
requestId: string | null, };
