// Statements prepared by their first use: the store's queries are built and prepared when a request first needs
// them, not when the store opens (building and preparing them all through drizzle was the largest part of the
// gateway's start-up after the runtime itself).

/** A getter for the statement `prepare` makes, made on the first call and kept. */
export function onFirstUse<S>(prepare: () => S): () => S {
  let statement: S | undefined
  return () => (statement ??= prepare())
}
