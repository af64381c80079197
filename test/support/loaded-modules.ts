// Which packages a gateway has loaded: started with startGateway in a fresh Bun process (a test process has loaded
// whatever earlier tests used), asked before and after some requests. For start-up work that is deferred on purpose.
import { cleanEnv } from './cli'

export interface LoadedModules {
  /** per package: loaded once the gateway listens */
  atStart: Record<string, boolean>
  /** status of each GET in `requests`, in order */
  statuses: number[]
  /** per package: loaded after those requests */
  afterRequests: Record<string, boolean>
}

/**
 * Starts a gateway (startGateway's `upstream` and `env`) in a child process, reads which of `packages` are in the
 * module registry once it listens, then GETs `requests` (paths) and reads again. Bounded: the child is killed after 20 s.
 */
export async function loadedModules(
  packages: string[],
  opts: { upstream?: string; env?: Record<string, string>; requests?: string[] },
): Promise<LoadedModules> {
  const script = `
    import { startGateway } from ${JSON.stringify(`${import.meta.dir}/gateway`)}
    const packages = ${JSON.stringify(packages)}
    const loaded = () => Object.fromEntries(packages.map((p) => [p, Object.keys(require.cache).some((k) => k.includes('/node_modules/' + p + '/'))]))
    const gw = await startGateway({ upstream: ${JSON.stringify(opts.upstream ?? 'http://127.0.0.1:9/v1')}, env: ${JSON.stringify(opts.env ?? {})}, logLevel: 'error' })
    const atStart = loaded()
    const statuses = []
    for (const path of ${JSON.stringify(opts.requests ?? [])}) statuses.push((await fetch(gw.url + path)).status)
    console.log(JSON.stringify({ atStart, statuses, afterRequests: loaded() }))
    await gw.stop()
  `
  const proc = Bun.spawn([process.execPath, '-e', script], { stdout: 'pipe', stderr: 'pipe', env: cleanEnv() })
  const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000)
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  clearTimeout(timer)
  const last = out.trim().split('\n').at(-1)
  if (code !== 0 || !last) throw new Error(`the gateway process failed (exit ${code}): ${err.trim() || out.trim()}`)
  return JSON.parse(last) as LoadedModules
}
