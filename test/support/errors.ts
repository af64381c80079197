// The openai SDK's APIPromise is a thenable that bun's `expect(...).rejects` does not await; tests
// take the rejection as a value instead.
export async function rejectionOf(p: PromiseLike<unknown>): Promise<any> {
  try {
    await p
  } catch (e) {
    return e
  }
  throw new Error('expected the call to fail, but it succeeded')
}
