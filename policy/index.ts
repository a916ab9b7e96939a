// The CrossGuard entry: `pulumi preview --policy-pack policy/`. The policies live in
// ./policies (pure, tested without an engine); constructing the pack starts the
// analyzer server the Pulumi CLI talks to, so nothing else imports this file.
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("cloudflare-origin-firewall", { policies });
