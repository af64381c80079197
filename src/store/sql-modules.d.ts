// drizzle-kit's migration files, imported as text by migrations.gen.ts (`with { type: 'text' }`).
declare module '*.sql' {
  const text: string
  export default text
}
