// CSS imports, which Bun's bundler turns into the page's stylesheet.
declare module "*.css";
