// An upstream URL as it may be shown (errors, logs, start-up summary): userinfo and key-like query
// parameters replaced by `***`, everything else as configured, so people can still see which upstream it is.

/**
 * Query parameter names whose values are taken for secrets: any name containing key, token, secret, passw, pwd,
 * auth, sig, credential or session (api_key, apikey, access_token, X-Amz-Signature, …), and `code`. Generous on
 * purpose: hiding a harmless value costs nothing, showing a key does.
 */
const SECRET_PARAM = /key|token|secret|passw|pwd|auth|sig|credential|session|^code$/i

/** Whether a query parameter of this name carries a secret. */
export function isSecretParam(name: string): boolean {
  return SECRET_PARAM.test(name)
}

/**
 * The URL with its credentials redacted: `http://user:pass@gpu:8000/v1?api_key=sk-1&x=1` →
 * `http://***@gpu:8000/v1?api_key=***&x=1`. A URL without any comes back unchanged (same string); one
 * that does not parse has anything between `//` and `@` and every key-like parameter value redacted.
 */
export function redactUrl(url: string): string {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return url.replace(/\/\/[^/?#]*@/, '//***@').replace(/([?&;])([^=&;#]*)=([^&;#]*)/g, (m, sep, name) => (isSecretParam(decodeSafe(name)) ? `${sep}${name}=***` : m))
  }
  let changed = false
  if (u.username || u.password) {
    u.username = '***'
    u.password = ''
    changed = true
  }
  if (u.search) {
    const params = new URLSearchParams(u.search)
    for (const name of new Set(params.keys())) {
      if (!isSecretParam(name)) continue
      params.set(name, '***')
      changed = true
    }
    // URLSearchParams would percent-encode the stars: put them back as written.
    if (changed) u.search = params.toString().replaceAll('%2A%2A%2A', '***')
  }
  return changed ? u.href.replace('//%2A%2A%2A@', '//***@') : url
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}
