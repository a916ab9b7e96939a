// Once per `npm test`: compile today's sources for the processes the tests start
// (see helpers/transpile.ts), and check whether the real-packet suites can run.
import { inCi } from "./helpers/describe-netns";
import { NETNS_ENV, netnsSkipLine, netnsUnavailable } from "./helpers/netns";
import { transpileProject } from "./helpers/transpile";

export default function globalSetup(): void {
    transpileProject();
    const reason = netnsUnavailable();
    process.env[NETNS_ENV] = reason ?? "";
    if (reason) process.stderr.write(`\n${netnsSkipLine(reason, inCi())}\n\n`);
}
