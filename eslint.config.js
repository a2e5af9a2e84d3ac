// Lint rules: typescript-eslint's recommended type-aware set, plus the project's few conventions.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "dist-dev/", "dist-deb/", "node_modules/", "test-results/", "coverage/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    rules: {
      "no-console": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
    },
  },
  {
    // The CLI, scripts and test support talk to a terminal on purpose.
    files: ["src/cli/**/*.ts", "bench/**/*.ts", "test/**/*.ts", "scripts/**"],
    rules: { "no-console": "off" },
  },
);
