import type { SignInSource, TokenIdentity } from '@panda-secrets/client';
import { PandaError } from '@panda-secrets/protocol';
import type { Deps, GlobalOptions } from './deps.js';

/** The sign-in pbook's deps carry; unit-test fakes may have none. */
function signInSource(deps: Deps): SignInSource {
  if (deps.signIn === undefined) throw new PandaError('CONFIG', 'this pbook was started without a way to sign in');
  return deps.signIn;
}

function connectionSource(deps: Deps, signIn: SignInSource) {
  return { env: deps.env, readFile: (path: string) => deps.fs.readFile(path), signIn };
}

/**
 * Signs in anew with the device flow, whatever the cache holds, and saves the tokens. The person
 * asked for it, so the URL and code are shown on stderr also when it is no terminal (a notebook,
 * a remote shell without one); on a terminal with a QR code.
 */
export async function login(deps: Deps, options: GlobalOptions): Promise<void> {
  const source = signInSource(deps);
  const { openSignIn } = await import('@panda-secrets/client');
  const { showDevicePrompt } = await import('@panda-secrets/cli-kit');
  const prompt = source.prompt ?? ((device) => showDevicePrompt(deps.stderr, device, { qr: false }));
  const signIn = await openSignIn(connectionSource(deps, { ...source, prompt }), options);
  await signIn.signInAgain();
  deps.stderr.write(`the sign-in is saved in ${source.cache.path}\n`);
}

/** Removes the saved sign-in, revoking its refresh token at the provider when it can. */
export async function logout(deps: Deps, options: GlobalOptions): Promise<void> {
  const source = signInSource(deps);
  const { openSignIn } = await import('@panda-secrets/client');
  const removed = await (await openSignIn(connectionSource(deps, source), options)).signOut();
  deps.stderr.write(
    removed ? `signed out: removed ${source.cache.path}\n` : `not signed in: there is no ${source.cache.path}\n`,
  );
}

/** Who the token says its holder is, where the token came from and when it expires. */
export interface WhoAmI extends TokenIdentity {
  source: string;
  expired: boolean;
}

/** "in 59 minutes", "2 hours ago": how far `seconds` (since the epoch) is from `nowMs`. */
function relativeTime(seconds: number, nowMs: number): string {
  const delta = Math.round(seconds - nowMs / 1000);
  const size = Math.abs(delta);
  const [amount, unit] =
    size < 120
      ? [size, 'second']
      : size < 7200
        ? [Math.round(size / 60), 'minute']
        : size < 172_800
          ? [Math.round(size / 3600), 'hour']
          : [Math.round(size / 86_400), 'day'];
  const span = `${amount} ${unit}${amount === 1 ? '' : 's'}`;
  return delta >= 0 ? `in ${span}` : `${span} ago`;
}

/** The token pbook would send (signing in when there is none) and what it says. */
export async function whoAmI(deps: Deps, options: GlobalOptions): Promise<WhoAmI> {
  const source = signInSource(deps);
  const { describeToken, resolveTokenSource } = await import('@panda-secrets/client');
  const { token, from } = await resolveTokenSource(connectionSource(deps, source), options);
  const identity = describeToken(token, from);
  return {
    ...identity,
    source: from,
    expired: identity.expiresAt !== undefined && identity.expiresAt * 1000 <= source.now(),
  };
}

/** whoami's text: one `field  value` line each, for a person. */
export function whoAmIText(who: WhoAmI, nowMs: number): string {
  const rows: Array<[string, string]> = [
    ['user', who.user],
    ...(who.name === undefined ? [] : [['name', who.name] as [string, string]]),
    ['groups', who.groups.length === 0 ? '(none)' : who.groups.join(', ')],
    ...(who.issuer === undefined ? [] : [['issuer', who.issuer] as [string, string]]),
    [
      'expires',
      who.expiresAt === undefined
        ? '(never)'
        : `${new Date(who.expiresAt * 1000).toISOString()} (${who.expired ? 'expired ' : ''}${relativeTime(who.expiresAt, nowMs)})`,
    ],
    ['token', `from ${who.source}`],
  ];
  return rows.map(([field, value]) => `${field.padEnd(8)}${value}\n`).join('');
}

/** whoami's JSON: stable keys, the expiry as an ISO date. */
export function whoAmIJson(who: WhoAmI): string {
  const { expiresAt, ...rest } = who;
  return `${JSON.stringify({ ...rest, expiresAt: expiresAt === undefined ? null : new Date(expiresAt * 1000).toISOString() }, null, 2)}\n`;
}
