// Loaded by scripts/mock-runtime.ts when COF_PROVIDER_FACTS names this file (jest.config.js
// sets it, and child processes inherit it): every registration is held
// to the providers' facts, and a violation fails the registration itself.
import { checkRegistration } from "./facts";

export function onRegistration(type: string, inputs: Record<string, any>): void {
    const problems = checkRegistration(type, inputs);
    if (problems.length > 0) throw new Error(`provider facts violated by a registration:\n${problems.join("\n")}`);
}
