// The CrossGuard entry: `pulumi preview --policy-pack policy/`. The policies live in
// ./policies (pure, tested without an engine); constructing the pack starts the
// analyzer server the Pulumi CLI talks to, so nothing else imports this file.
import { Policies, PolicyPack } from "@pulumi/policy";
import { combinedExposure } from "./combined";
import { policies } from "./policies";

// Typed against the framework's own interface here (the policies module declares only what it reads).
const checked: Policies = [...policies, combinedExposure];
new PolicyPack("cloudflare-origin-firewall", { policies: checked });
