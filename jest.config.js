// Every registration in the suite, in jest's workers and in the program processes
// the tests start (they inherit the environment), is held to the providers' facts
// (test/provider-facts/facts.ts) by scripts/mock-runtime.ts.
process.env.COF_PROVIDER_FACTS = require("path").join(__dirname, "test", "provider-facts", "hook.ts");

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: {
    // Type errors are caught by `npm run typecheck`; jest only transpiles.
    "^.+\\.ts$": ["ts-jest", { diagnostics: false }],
  },
  testTimeout: 30000,
};
