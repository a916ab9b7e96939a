// Lint: typescript-eslint's recommended rules, type-aware, plus Pulumi's own rules
// (an Output inside a template literal prints "Calling [toString] on an [Output<T>]…"
// instead of the value). Run by `npm run lint` and .ci/run.
import js from "@eslint/js";
import pulumi from "@pulumi/eslint-plugin";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
    { ignores: ["dist/", ".jest-build/", "coverage/", "**/node_modules/", "**/*.d.ts"] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        files: ["**/*.ts"],
        languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
        plugins: { "@pulumi": pulumi },
        rules: {
            // Provider patterns are kept exactly as the provider's source writes them (cited), escapes included.
            "no-useless-escape": "off",
            // As tsc's noUnusedLocals: a rest sibling drops a key on purpose; "_" marks a deliberately unused name.
            "@typescript-eslint/no-unused-vars": ["error", { ignoreRestSiblings: true, argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
            "@pulumi/no-output-in-template-literal": "error",
            "@pulumi/no-output-instance-in-template-literal": "error",
        },
    },
    {
        // Tools, tests and fixtures read untyped data (registrations, JSON, XML); the library itself stays strict.
        files: ["scripts/**", "test/**", "bench/**", "policy/**", "plugin/**", "**/*.js"],
        rules: { "@typescript-eslint/no-explicit-any": "off" },
    },
    {
        // Tests and fixtures load programs, helpers and optional packages at run time.
        files: ["test/**", "bench/**", "**/*.js"],
        rules: { "@typescript-eslint/no-require-imports": "off" },
    },
    {
        files: ["**/*.js"],
        languageOptions: { sourceType: "commonjs", globals: globals.node },
    },
);
