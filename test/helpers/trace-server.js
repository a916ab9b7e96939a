// A stand-in for Cloudflare's trace endpoint on 127.0.0.1 (port 0) inside a test
// namespace: answers every request with `ip=<argv[2]>` in the trace format, and
// prints its URL once it listens.
const { startLoopbackServer, traceReply } = require("./loopback-server");
startLoopbackServer([traceReply(process.argv[2])], { path: "/cdn-cgi/trace" }).then((s) => process.stdout.write(`${s.url}\n`));
