// --mcp-allowed-hosts: which hosts a request may point the gateway at ({"type":"mcp","server_url":…}), a server-side
// request forgery guard. Pure: patterns are parsed once at start-up, URLs are checked per request.
//
// Rules (README "MCP servers"):
// - `host` matches that host exactly; `*.suffix` matches any name under suffix (a.suffix, a.b.suffix), not suffix
//   itself (list both when both are wanted). A suffix pattern never matches an IP address.
// - `host:port` (or `[v6]:port`) matches that port only; without a port any port matches.
// - Hosts compare as the URL parser normalises them: lower case, IDNs in punycode, no trailing dot, IPv6 without
//   brackets, IPv4 in dotted form (so http://2130706433/ is 127.0.0.1 and needs 127.0.0.1 listed).
// - Loopback and unspecified addresses (127.0.0.0/8, ::1, 0.0.0.0, ::, localhost) are reachable only when listed.
// - Only http: and https: URLs, and none with credentials in them (user:password@): those go in headers.
// Not covered: a listed name that resolves to an internal address (DNS is the operator's to trust).

export interface HostPattern {
  /** normalised host (no brackets); for a suffix pattern the part after `*.` */
  host: string
  suffix: boolean
  /** null: any port */
  port: string | null
  /** as written, for messages */
  text: string
}

/** Why a pattern or URL is refused, in words safe to show (no credentials). */
export class AllowlistError extends Error {}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/

function isIp(host: string): boolean {
  return IPV4.test(host) || host.includes(':')
}

/** A host as the URL parser normalises it, without IPv6 brackets and a trailing dot. */
function normaliseHost(hostname: string): string {
  const h = hostname.toLowerCase().replace(/\.$/, '')
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h
}

/** The default port of a scheme, for comparing `host:443` with an https URL given without a port. */
function effectivePort(u: URL): string {
  return u.port || (u.protocol === 'https:' ? '443' : '80')
}

/** Parses one --mcp-allowed-hosts entry. Throws AllowlistError on anything that is not a host pattern. */
export function parseHostPattern(text: string): HostPattern {
  const raw = text.trim()
  if (raw === '' || /[/?#@\s]/.test(raw) || raw.includes('://'))
    throw new AllowlistError(`"${raw}" is not a host: give a host name, *.suffix or an IP address, optionally with :port`)
  if (raw === '*' || raw === '*.')
    throw new AllowlistError(`"${raw}" would allow every host (the gateway's own network too): list the hosts`)
  const suffix = raw.startsWith('*.')
  const rest = suffix ? raw.slice(2) : raw
  if (rest.includes('*')) throw new AllowlistError(`"${raw}": a * is allowed only as the first label (*.example.com)`)
  let u: URL
  try {
    u = new URL(`http://${rest}`)
  } catch {
    throw new AllowlistError(`"${raw}" is not a host: give a host name, *.suffix or an IP address, optionally with :port`)
  }
  const host = normaliseHost(u.hostname)
  if (host === '') throw new AllowlistError(`"${raw}" is not a host`)
  if (suffix && isIp(host)) throw new AllowlistError(`"${raw}": *. patterns take a domain name, not an IP address`)
  // new URL drops a default port (:80): keep the one written.
  const port = /:(\d+)$/.test(rest) ? rest.match(/:(\d+)$/)![1].replace(/^0+(?=\d)/, '') : null
  return { host, suffix, port, text: raw }
}

/** All entries; throws AllowlistError naming the first bad one. */
export function parseHostPatterns(entries: readonly string[]): HostPattern[] {
  return entries.map(parseHostPattern)
}

/** Whether a normalised host and port are covered by one pattern. */
function matches(p: HostPattern, host: string, port: string): boolean {
  if (p.port !== null && p.port !== port) return false
  if (!p.suffix) return p.host === host
  return !isIp(host) && host.endsWith(`.${p.host}`)
}

/**
 * Checks a request-declared server_url against the patterns. Returns the parsed URL when allowed; throws
 * AllowlistError with the reason otherwise (the caller turns it into a 400 and shows the URL redacted).
 */
export function checkServerUrl(url: string, patterns: readonly HostPattern[]): URL {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new AllowlistError('server_url is not a valid URL')
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new AllowlistError(`server_url must be http or https, not ${u.protocol.replace(/:$/, '')}`)
  if (u.username !== '' || u.password !== '')
    throw new AllowlistError('server_url must not carry credentials (user:password@); send them in headers or authorization')
  if (patterns.length === 0) throw new AllowlistError('request-declared MCP servers are off on this gateway (no --mcp-allowed-hosts)')
  const host = normaliseHost(u.hostname)
  const port = effectivePort(u)
  if (!patterns.some((p) => matches(p, host, port))) throw new AllowlistError(`the host ${u.host} is not in --mcp-allowed-hosts`)
  return u
}
