// redactUrl: how an upstream URL may be shown in errors and logs — no userinfo, no key-like query values.
import { describe, expect, test } from 'bun:test'
import { redactUrl } from '../../src/upstream/redact'

describe('redactUrl', () => {
  test('a URL without credentials comes back as written', () => {
    for (const u of ['http://127.0.0.1:8000/v1', 'http://gpu-box:8000', 'https://[::1]:9000/v1?model=x'])
      expect(redactUrl(u)).toBe(u)
  })

  test('userinfo is replaced, user and password alike', () => {
    expect(redactUrl('http://agent:s3cret@gpu:8000/v1')).toBe('http://***@gpu:8000/v1')
    expect(redactUrl('http://tokenonly@gpu/v1')).toBe('http://***@gpu/v1')
  })

  test('key-like query parameters lose their values; others keep theirs', () => {
    expect(redactUrl('https://h/v1?api_key=sk-1&model=x&access_token=t&X-Amz-Signature=abc&apikey=2')).toBe('https://h/v1?api_key=***&model=x&access_token=***&X-Amz-Signature=***&apikey=***')
  })

  test('an unparseable URL is still redacted', () => {
    const r = redactUrl('gpu box://agent:s3cret@h/v1?key=sk-1')
    expect(r).not.toContain('s3cret')
    expect(r).not.toContain('sk-1')
  })
})
