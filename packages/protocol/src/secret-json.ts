/**
 * JSON.parse for text that holds secrets, tokens or key material. The parser's own message
 * quotes the text around the fault (`Unexpected token 'S', "{"K":SECRET}" is not valid JSON`),
 * so on failure only `invalid()` is thrown, without the parser's error as its cause: a cause is
 * printed with --verbose.
 *
 * @example
 * const secrets = parseSecretJson(data, () => new PandaError('SERVER_ERROR', 'the secrets are not valid JSON'));
 */
export function parseSecretJson(text: string, invalid: () => Error): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw invalid();
  }
}
