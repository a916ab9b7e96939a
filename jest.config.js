// The processes the tests start (CLIs, program fixtures, the bench) run compiled
// JavaScript from .jest-build/, which the global setup brings up to date from the sources
// (test/helpers/transpile.ts). Every registration in the suite, in jest's workers
// and in those processes (they inherit the environment), is held to the providers'
// facts (test/provider-facts/facts.ts) by scripts/mock-runtime.ts.
const path = require("path");
process.env.COF_PROVIDER_FACTS = path.join(__dirname, ".jest-build", "test", "provider-facts", "hook.js");

/** @type {import('jest').Config} */
module.exports = {
    testEnvironment: "node",
    roots: ["<rootDir>/test"],
    testMatch: ["**/*.test.ts"],
    transform: {
        // Type errors are caught by `npm run typecheck`; jest only transpiles (tsconfig: isolatedModules).
        "^.+\\.ts$": ["ts-jest", { diagnostics: false }],
    },
    globalSetup: "<rootDir>/test/global-setup.ts",
    // Most of a test's time is spent waiting on other processes (nmap, nft, the
    // programs it starts), so more workers than the 2 cores' default of 1.
    maxWorkers: 4,
    // A bound for tests that set none: the programs they start take longer on a loaded machine.
    testTimeout: 60000,
};
