// Files imported `with { type: "file" }` resolve to a path, which
// `bun build --compile` rewrites to the copy embedded in the binary.
declare module "*.mmdb" {
  const path: string;
  export default path;
}
