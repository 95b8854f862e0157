// Lint of the console's TypeScript: eslint's recommended rules and typescript-eslint's
// type-checked ones (floating promises, unsafe any) over src/ and test/.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "build/", "node_modules/", "*.js", "*.mjs"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      eqeqeq: "error",
    },
  },
  // node:test's test() returns a promise the runner itself awaits.
  { files: ["test/**"], rules: { "@typescript-eslint/no-floating-promises": "off" } },
);
