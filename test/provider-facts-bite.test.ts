// The facts check runs on every registration (jest.config.js), in
// this process and in the program processes the tests start: a wrong value fails
// the registration, and so the program, however it got there. (In its own process:
// a failed registration ends in Pulumi's unhandled rejections, which jest cannot host.)
import { execFile } from "child_process";
import * as path from "path";
import { promisify } from "util";
import { compiled } from "./helpers/compiled";

test("the old ipRange spelling fails the registration itself, and nothing is recorded", async () => {
    const out = await promisify(execFile)(process.execPath, [compiled("test/fixtures/bad-access-rule.ts")], { cwd: path.join(__dirname, "..") }).then(
        (r) => ({ code: 0, report: JSON.parse(r.stdout) }),
        (e) => ({ code: e.code as number, report: JSON.parse(e.stdout) }),
    );
    expect(out.code).toBe(1);
    expect(out.report.error).toContain('cloudflare:index/accessRule:AccessRule configuration.target: target "ipRange" is not one of ip, ip6, ip_range, asn, country');
    expect(out.report.error).toContain("source: cloudflare/terraform-provider-cloudflare@v5.22.0 internal/services/access_rule/schema.go l.66-77");
    expect(out.report.names).not.toContain("wrong");
});

test("a compressed ip6 value (what we sent before issue 21) fails the registration itself, citing the release tag", async () => {
    const out = await promisify(execFile)(process.execPath, [compiled("test/fixtures/compressed-ip6-access-rule.ts")], { cwd: path.join(__dirname, "..") }).then(
        (r) => ({ code: 0, report: JSON.parse(r.stdout) }),
        (e) => ({ code: e.code as number, report: JSON.parse(e.stdout) }),
    );
    expect(out.code).toBe(1);
    expect(out.report.error).toContain("configuration.value (ip6): IPv6 value 2001:db8::1 is not in the long form");
    expect(out.report.error).toContain("cloudflare/terraform-provider-cloudflare@v5.22.0 internal/services/access_rule/ipv6_validator.go l.25-59");
    expect(out.report.names).not.toContain("compressed");
});
