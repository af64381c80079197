// redactUrl: what may be printed of a configured URL (logs, /ready, errors) — never its credentials: no userinfo,
// no key-like query or fragment values; the rest exactly as written.
import { describe, expect, test } from 'bun:test'
import { redactUrl as redactPostgresUrl } from '../../src/store/postgres/driver'
import { isSecretParam, redactUrl, redactUrlIn } from '../../src/upstream/redact'

describe('redactUrl', () => {
  test('a URL without credentials comes back as written', () => {
    for (const u of [
      'http://127.0.0.1:8000/v1',
      'http://gpu-box:8000',
      'https://[::1]:9000/v1?model=x',
      'https://api.example.test/v1/',
      'http://h',
      'http://h:1/v1?model=x&stream=true#frag',
    ])
      expect(redactUrl(u)).toBe(u)
  })

  test('userinfo is replaced, user and password alike', () => {
    expect(redactUrl('http://agent:s3cret@gpu:8000/v1')).toBe('http://***@gpu:8000/v1')
    expect(redactUrl('http://tokenonly@gpu/v1')).toBe('http://***@gpu/v1')
    // a password with an unescaped @ still leaves nothing of itself
    expect(redactUrl('http://u:p@ss@host:1/v1')).toBe('http://***@host:1/v1')
    expect(redactUrl('postgres://agentgate:s3cret@db.local:5432/agentgate')).toBe('postgres://***@db.local:5432/agentgate')
  })

  test('key-like query parameters lose their values; others keep theirs', () => {
    expect(redactUrl('https://h/v1?api_key=sk-1&model=x&access_token=t&X-Amz-Signature=abc&apikey=2')).toBe(
      'https://h/v1?api_key=***&model=x&access_token=***&X-Amz-Signature=***&apikey=***',
    )
    expect(redactUrl('https://h/v1?key=AIza&token=t&secret=s&password=p&sig=x&x=1')).toBe(
      'https://h/v1?key=***&token=***&secret=***&password=***&sig=***&x=1',
    )
    expect(redactUrl('https://h/v1?X-Amz-Credential=AKIA%2F&X-Amz-Date=20260101')).toBe(
      'https://h/v1?X-Amz-Credential=***&X-Amz-Date=20260101',
    )
    expect(redactUrl('https://h/v1?API-KEY=a;client_secret=b')).toBe('https://h/v1?API-KEY=***;client_secret=***')
    expect(redactUrl('https://h/v1?api%5Fkey=zzz')).toBe('https://h/v1?api%5Fkey=***')
  })

  test('fragment parameters (OAuth style) are redacted too, together with userinfo', () => {
    expect(redactUrl('https://u:p@h/cb?state=1#access_token=tok&token_type=bearer')).toBe(
      'https://***@h/cb?state=1#access_token=***&token_type=***',
    )
  })

  test('an unparseable URL is still redacted', () => {
    const r = redactUrl('gpu box://agent:s3cret@h/v1?key=sk-1')
    expect(r).not.toContain('s3cret')
    expect(r).not.toContain('sk-1')
    expect(redactUrl('/v1/models?api_key=abc')).toBe('/v1/models?api_key=***')
    expect(redactUrl('not a url')).toBe('not a url')
    expect(redactUrl('')).toBe('')
  })

  test('an empty value is nothing to hide; a parameter without a value is kept', () => {
    expect(redactUrl('http://h/?token=&flag')).toBe('http://h/?token=&flag')
  })

  test('which parameter names are secrets', () => {
    for (const n of ['model', 'region', 'stream', 'passage', 'limit']) expect({ n, secret: isSecretParam(n) }).toEqual({ n, secret: false })
    for (const n of [
      'key',
      'private_key',
      'x_api_key',
      'github_token',
      'aws_secret',
      'db_password',
      'Signature',
      'sslpassword',
      'apitoken',
      'code',
      'api%5Fkey',
    ])
      expect({ n, secret: isSecretParam(n) }).toEqual({ n, secret: true })
  })

  test('redactUrlIn cleans a message that quotes the URL', () => {
    const url = 'http://u:pw@127.0.0.1:9/v1'
    expect(redactUrlIn(`fetch ${url}/models failed; ${url}`, url)).toBe(
      'fetch http://***@127.0.0.1:9/v1/models failed; http://***@127.0.0.1:9/v1',
    )
    expect(redactUrlIn('nothing here', url)).toBe('nothing here')
  })

  test('a PostgreSQL URL in store errors keeps its user and hides the password, in the userinfo or the query', () => {
    expect(redactPostgresUrl('postgres://agentgate:s3cret@db:5432/ag?sslmode=require&password=q1&sslpassword=q2')).toBe(
      'postgres://agentgate:***@db:5432/ag?sslmode=require&password=***&sslpassword=***',
    )
  })
})
