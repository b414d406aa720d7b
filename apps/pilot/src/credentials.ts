/** The environment variables that carry the pilot's own credentials: the payload never sees them. */
export const CREDENTIAL_ENV = ['PANDA_AUTH_ID_TOKEN', 'OIDC_AUTH_TOKEN_FILE'] as const;
