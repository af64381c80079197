// PostgreSQL URLs as the settings give them: which ones are, and how they are shown. Apart from the driver so that
// telling SQLite from PostgreSQL at start-up does not load the PostgreSQL driver.
import { isSecretParam } from '../../upstream/redact'

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url)
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    // libpq takes credentials as query parameters too (password=, sslpassword=)
    for (const k of [...u.searchParams.keys()]) if (isSecretParam(k)) u.searchParams.set(k, '***')
    return u.toString()
  } catch {
    return 'postgres://…'
  }
}
