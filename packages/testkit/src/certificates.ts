import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export interface SelfSignedCertificate {
  /** PEM of the certificate, which is its own CA. */
  cert: string;
  /** PEM of its private key. */
  key: string;
}

/**
 * Makes a self-signed P-256 certificate for 127.0.0.1 (valid one day) with openssl, as `name`.pem
 * and `name`.key.pem in `dir`, and returns their paths: a TLS server of a test serves it, and its
 * clients trust it as their CA.
 *
 * @example
 * const { cert, key } = selfSignedCertificate(dir);
 * await startServer({ args: ['--tls-cert', cert, '--tls-key', key] });
 */
export function selfSignedCertificate(dir: string, name = 'cert'): SelfSignedCertificate {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key.pem`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-keyout',
      key,
      '-out',
      cert,
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}
