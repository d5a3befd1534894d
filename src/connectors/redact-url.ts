// Connection strings as they may be shown: the password (and a token) replaced, so no message or log prints it.

/** `postgres://user:secret@host/db` → `postgres://user:***@host/db`; text that is no URL is returned with `password=...` masked. */
export function redactUrl(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1***@').replace(/(password\s*=\s*)('[^']*'|\S+)/gi, '$1***');
}

/** Masks in `text` every occurrence of the given secrets (a password given as an option). */
export function redactSecrets(text: string, secrets: Array<string | undefined>): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('***');
  return out;
}
