// A URL as it may be shown (errors, logs, /ready reasons, the start-up summary): the userinfo (`user:password@`)
// and the values of key-like query or fragment parameters (`?api_key=…`, `#access_token=…`) replaced by `***`,
// everything else exactly as configured, so people can still see which server it is.

const MASK = '***'

/**
 * Parameter names whose values are taken for secrets: any name containing key, token, secret, passw, pwd, auth,
 * sig, credential or session (api_key, apikey, access_token, X-Amz-Signature, sslpassword, …), and `code`.
 * Generous on purpose: hiding a harmless value costs nothing, showing a key does.
 */
const SECRET_PARAM = /key|token|secret|passw|pwd|auth|sig|credential|session|^code$/i

/** Whether a query (or fragment) parameter of this name carries a secret. The name may be percent-encoded. */
export function isSecretParam(name: string): boolean {
  return SECRET_PARAM.test(decodeSafe(name))
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '))
  } catch {
    return s
  }
}

/** `a=1&api_key=s3cret` → `a=1&api_key=***` (separators `&` and `;` kept as they were). */
function redactParams(params: string): string {
  return params.replace(/([^&;=]*)=([^&;]*)/g, (whole, name: string, value: string) =>
    value !== '' && isSecretParam(name) ? `${name}=${MASK}` : whole,
  )
}

/** The part after the authority: path kept, query and fragment parameters redacted. */
function redactTail(tail: string): string {
  const hash = tail.indexOf('#')
  const beforeHash = hash < 0 ? tail : tail.slice(0, hash)
  const fragment = hash < 0 ? null : tail.slice(hash + 1)
  const q = beforeHash.indexOf('?')
  const path = q < 0 ? beforeHash : beforeHash.slice(0, q)
  const query = q < 0 ? null : beforeHash.slice(q + 1)
  return path + (query === null ? '' : '?' + redactParams(query)) + (fragment === null ? '' : '#' + redactParams(fragment))
}

/**
 * The URL with its credentials redacted: `http://user:pass@gpu:8000/v1?api_key=sk-1&x=1` →
 * `http://***@gpu:8000/v1?api_key=***&x=1`. A URL without any comes back unchanged (same string). Works on the
 * text (it need not parse as a URL), so a malformed value in an error message is redacted too.
 */
export function redactUrl(url: string): string {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)([^/?#]*)([\s\S]*)$/.exec(url)
  if (!m) {
    // Not scheme://…: still hide anything between `//` and `@`, and key-like parameters.
    const at = /\/\/[^/?#]*@/.exec(url)
    if (!at) return redactTail(url)
    return url.slice(0, at.index) + `//${MASK}@` + redactTail(url.slice(at.index + at[0].length))
  }
  // every group of the pattern takes part in a match (the defaults only satisfy the index type)
  const [, scheme = '', authority = '', tail = ''] = m
  // The last `@` ends the userinfo (a password may itself contain an unescaped `@`).
  const at = authority.lastIndexOf('@')
  const host = at < 0 ? authority : `${MASK}@${authority.slice(at + 1)}`
  return scheme + host + redactTail(tail)
}

/** `text` with every occurrence of `url` redacted (e.g. a runtime's error message that quotes the URL). */
export function redactUrlIn(text: string, url: string): string {
  return url && text.includes(url) ? text.split(url).join(redactUrl(url)) : text
}
