// ESLint flat config: typescript-eslint's recommended, type-aware rules for the Pulumi program.
import eslint from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
    { ignores: ["node_modules/**", "bin/**", "dist/**", "rendered/**", "artifacts/**", ".pulumi/**", "app/**", "e2e/**", "bench/**", "**/*.js", "**/*.mjs"] },
    eslint.configs.recommended,
    ...tseslint.configs.recommended,
    {
        files: ["**/*.ts"],
        rules: {
            "@typescript-eslint/no-explicit-any": "error",
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
            "@typescript-eslint/no-non-null-assertion": "off",
            eqeqeq: "error",
            "no-new": "off",
        },
    },
);
